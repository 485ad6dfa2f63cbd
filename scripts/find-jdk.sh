# Sourced by ./build and ./malloc4j: sets JAVA_HOME to a JDK of version 22 or later.
# Order: $JAVA_HOME if it is suitable, then `java` on PATH, then the JDKs under /usr/lib/jvm
# (newest first). Fails with a clear message when none is found.

malloc4j_jdk_version() {  # prints the feature version of the JDK at $1, or nothing
  local javac="$1/bin/javac" java="$1/bin/java"
  [ -x "$java" ] && [ -x "$javac" ] || return 0
  # A JDK that will not start (broken, or refusing an option in JAVA_TOOL_OPTIONS that only newer
  # JDKs know) is skipped, not fatal: callers run under `set -e -o pipefail`.
  "$java" -XshowSettings:properties -version 2>&1 \
    | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n 1 || true
}

malloc4j_jdk_start_error() {  # prints why the JDK at $1 does not start, or nothing if it is no JDK
  local java="$1/bin/java"
  [ -x "$java" ] && [ -x "$1/bin/javac" ] || return 0
  "$java" -version 2>&1 | grep -v '^Picked up ' | head -n 1 || true
}

malloc4j_find_jdk() {
  local min=22 candidate version warned= broken=
  local candidates=()
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  if command -v java >/dev/null 2>&1; then
    candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
  fi
  for candidate in $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do
    candidates+=("${candidate%/}")
  done
  for candidate in "${candidates[@]}"; do
    version=$(malloc4j_jdk_version "$candidate")
    if [ -n "$version" ] && [ "$version" -ge "$min" ]; then
      export JAVA_HOME="$candidate"
      export PATH="$JAVA_HOME/bin:$PATH"
      export MALLOC4J_JDK_VERSION="$version"
      return 0
    fi
    local why=
    [ -z "$version" ] && why=$(malloc4j_jdk_start_error "$candidate")
    [ -n "$why" ] && [ -z "$broken" ] && broken="$candidate ($why)"
    if [ -z "$warned" ] && [ -n "${JAVA_HOME:-}" ] && [ "$candidate" = "$JAVA_HOME" ]; then
      if [ -n "$why" ]; then
        echo "malloc4j: JAVA_HOME=$JAVA_HOME does not start: $why; looking for a JDK $min or later elsewhere." >&2
      else
        echo "malloc4j: JAVA_HOME=$JAVA_HOME is not a JDK $min or later; looking for one elsewhere." >&2
      fi
      warned=1
    fi
  done
  echo "malloc4j: no JDK $min or later found (looked at JAVA_HOME='${JAVA_HOME:-}', java on PATH, /usr/lib/jvm/*)." >&2
  if [ -n "$broken" ]; then
    echo "malloc4j: a JDK that does not start was skipped: $broken; check JAVA_TOOL_OPTIONS and JDK_JAVA_OPTIONS." >&2
  fi
  echo "malloc4j: install one (for example Temurin 25) and set JAVA_HOME to it." >&2
  return 1
}
