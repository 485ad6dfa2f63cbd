# Sourced by ./build and ./malloc4j: sets JAVA_HOME to a JDK of version 22 or later.
# Order: $JAVA_HOME if it is suitable, then `java` on PATH, then the JDKs under /usr/lib/jvm
# (newest first). Fails with a clear message when none is found.

malloc4j_jdk_version() {  # prints the feature version of the JDK at $1 (8 for a 1.8), or nothing
  local javac="$1/bin/javac" java="$1/bin/java" settings
  [ -x "$java" ] && [ -x "$javac" ] || return 0
  # A JDK that will not start (broken, or refusing an option in JAVA_TOOL_OPTIONS that only newer
  # JDKs know) is skipped, not fatal: callers run under `set -e -o pipefail`. One that exits with an
  # error has not started, whatever version it printed first: it would fail the build it was taken for.
  settings=$("$java" -XshowSettings:properties -version 2>&1) || return 0
  printf '%s\n' "$settings" \
    | sed -n 's/^ *java\.specification\.version = \(1\.\)\{0,1\}\([0-9]*\).*/\2/p' | head -n 1 || true
}

malloc4j_jdk_start_error() {  # prints why the JDK at $1 does not start, or nothing if it is no JDK
  local java="$1/bin/java" why
  [ -x "$java" ] && [ -x "$1/bin/javac" ] || return 0
  # The JVM's own reason, not the launcher's notes and generic lines around it.
  why=$("$java" -version 2>&1 | grep -v -e '^\(NOTE: \)\?Picked up ' -e '^Error occurred during initialization of VM' \
    -e '^Error: Could not create the Java Virtual Machine' -e '^Error: A fatal exception has occurred' | head -n 1 || true)
  [ -n "$why" ] && echo "$why" || echo "it exits with an error"
}

malloc4j_quote() {  # prints $1 as a shell reads it back: as it is when safe, else in single quotes
  case "$1" in
    '') printf "''" ;;
    *[!A-Za-z0-9_@%+=:,./-]*) printf "'%s'" "${1//\'/\'\\\'\'}" ;;
    *) printf '%s' "$1" ;;
  esac
}

malloc4j_find_jdk() {
  local min=22 candidate version warned= broken= older= missing
  local candidates=()
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  if command -v java >/dev/null 2>&1; then
    candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
  fi
  for candidate in $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do
    candidates+=("${candidate%/}")
  done
  local seen=" " real
  for candidate in "${candidates[@]}"; do
    # One JDK is often listed under several names (a symlink, PATH and /usr/lib/jvm).
    real=$(readlink -f "$candidate" 2>/dev/null || echo "$candidate")
    case "$seen" in *" $real "*) continue ;; esac
    seen="$seen$real "
    version=$(malloc4j_jdk_version "$candidate")
    if [ -n "$version" ] && [ "$version" -ge "$min" ]; then
      # After a note that JAVA_HOME was passed over, say what is used instead.
      [ -n "$warned" ] && echo "malloc4j: using JDK $version at $(malloc4j_quote "$candidate")." >&2
      export JAVA_HOME="$candidate"
      export PATH="$JAVA_HOME/bin:$PATH"
      export MALLOC4J_JDK_VERSION="$version"
      return 0
    fi
    [ -n "$version" ] && older="${older:+$older, }$(malloc4j_quote "$candidate") (JDK $version)"
    local why=
    [ -z "$version" ] && why=$(malloc4j_jdk_start_error "$candidate")
    [ -n "$why" ] && broken="${broken:+$broken; }$(malloc4j_quote "$candidate") ($why)"
    if [ -z "$warned" ] && [ -n "${JAVA_HOME:-}" ] && [ "$candidate" = "$JAVA_HOME" ]; then
      local home
      home=$(malloc4j_quote "$JAVA_HOME")
      if [ -n "$why" ]; then
        echo "malloc4j: JAVA_HOME=$home does not start: $why; looking for a JDK $min or later elsewhere." >&2
      elif [ ! -d "$JAVA_HOME" ]; then
        echo "malloc4j: JAVA_HOME=$home does not exist; looking for a JDK $min or later elsewhere." >&2
      elif [ -n "$version" ]; then
        echo "malloc4j: JAVA_HOME=$home is JDK $version, older than $min; looking for a JDK $min or later elsewhere." >&2
      else
        if [ -x "$JAVA_HOME/bin/java" ]; then
          missing="bin/javac (is it a JRE?)"
        else
          missing="bin/java (is it not a JDK?)"
        fi
        echo "malloc4j: JAVA_HOME=$home has no $missing; looking for a JDK $min or later elsewhere." >&2
      fi
      warned=1
    fi
  done
  local looked="JAVA_HOME (unset)"
  [ -n "${JAVA_HOME+set}" ] && looked="JAVA_HOME=$(malloc4j_quote "$JAVA_HOME")"
  echo "malloc4j: no JDK $min or later found (looked at $looked, java on PATH, /usr/lib/jvm/*)." >&2
  # Apart: a JDK too old wants a newer one installed, one that does not start wants its options checked.
  [ -n "$older" ] && echo "malloc4j: found JDKs older than $min: $older." >&2
  if [ -n "$broken" ]; then
    echo "malloc4j: found JDKs that do not start: $broken." >&2
    echo "malloc4j: check JAVA_TOOL_OPTIONS and JDK_JAVA_OPTIONS, or install a JDK $min or later (for example Temurin 25) and set JAVA_HOME to it." >&2
  else
    echo "malloc4j: install one (for example Temurin 25) and set JAVA_HOME to it." >&2
  fi
  return 1
}
