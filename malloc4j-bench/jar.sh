# Sourced by the benchmark scripts beside it (ab, compare, fork-medians, memory-return, perfasm), after
# scripts/find-jdk.sh. malloc4j_bench_jar NAME sets $jar to malloc4j-bench/target/benchmarks.jar and
# builds it first when it is missing or older than the sources it is made of, saying so as NAME.
# malloc4j_bench_list checks a JMH run's arguments before it runs.
malloc4j_bench_jar() {
  local bench root
  bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  root="$(dirname "$bench")"
  jar="$bench/target/benchmarks.jar"
  if [ ! -f "$jar" ] || [ -n "$(find "$bench/pom.xml" "$bench/src" "$root/pom.xml" "$root/malloc4j-core/pom.xml" \
        "$root/malloc4j-core/src/main" "$root/malloc4j-cli/pom.xml" "$root/malloc4j-cli/src/main" \
        -newer "$jar" -print -quit)" ]; then
    echo "$1: building $jar" >&2
    "$root/build" -q -pl malloc4j-bench -am -DskipTests package
  fi
}

# malloc4j_bench_jvm_options sets the environment and options every JMH run of the benchmarks needs:
# GLIBC_TUNABLES (exported), java_opts (for java running a class of the jar) and jmh_opts (for JMH,
# passed on to its forks).
malloc4j_bench_jvm_options() {
  local thp
  # Debian's libjemalloc2 uses initial-exec TLS: it loads into a running JVM only with room reserved
  # for it at start. JMH's forked JVMs inherit the environment.
  export GLIBC_TUNABLES="${GLIBC_TUNABLES:+$GLIBC_TUNABLES:}glibc.rtld.optional_static_tls=8192"

  java_opts=(--enable-native-access=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED)
  jmh_opts=()
  if [ "${MALLOC4J_JDK_VERSION:-0}" -ge 23 ]; then
    # JDK 23+ warns at the first sun.misc.Unsafe memory access (JMH, Netty, Arrow and the Unsafe peer
    # use it); allowing it keeps the logs clean and changes nothing else.
    java_opts+=(--sun-misc-unsafe-memory-access=allow)
    jmh_opts+=(-jvmArgsPrepend --sun-misc-unsafe-memory-access=allow)
  fi

  # Every fork touches its fixed 2 GiB Java heap at start-up (Jvm.HEAP_PRE_TOUCH). In 4 KiB pages that
  # takes 2-5 s a fork on these VMs; in transparent huge pages, where Linux offers them ("always" or
  # "madvise"), a fraction of a second. Only Linux builds of the JDK know the option.
  thp=/sys/kernel/mm/transparent_hugepage/enabled
  if [ "$(uname -s)" = Linux ] && [ -r "$thp" ] && grep -qE '\[(always|madvise)\]' "$thp"; then
    jmh_opts+=(-jvmArgsPrepend -XX:+UseTransparentHugePages)
  fi
}

# malloc4j_bench_list NAME JAR WHAT ARGS... has JMH list what a run of ARGS on JAR would measure
# (-lp), before the run spends minutes on it. It returns 2, saying as NAME what is wrong (WHAT names
# the run), when JMH refuses the arguments (an unknown option, one given twice, a value it cannot
# read: JMH's own words are printed) or when a -p names no parameter of the benchmarks they match:
# JMH would ignore it and run every value of the real one. It returns 1, saying nothing, when they
# match no benchmark. Needs java_opts (malloc4j_bench_jvm_options).
# malloc4j_bench_own NAME OPTIONS ARGS... stops with status 2 when ARGS give one of OPTIONS (a
# space-separated list), which NAME sets itself: JMH refuses an option given twice, and would name
# the option alone, not who gave it first.
malloc4j_bench_own() {
  local name="$1" options="$2" arg
  shift 2
  for arg in "$@"; do
    if [[ " $options " == *" $arg "* ]]; then
      echo "$name: $arg is one of the options $name sets itself ($options), so leave it out of: $*" >&2
      exit 2
    fi
  done
}

malloc4j_bench_list() {
  local name="$1" jar="$2" what="$3" listing status previous="" arg names=() param theirs listed=() skip=false
  shift 3
  # -o and -v send JMH's output elsewhere or silence it, the listing read below included: they
  # change nothing of what a run measures, so the check leaves them out.
  for arg in "$@"; do
    if [ "$skip" = true ]; then
      skip=false
    elif [ "$arg" = -o ] || [ "$arg" = -v ]; then
      skip=true
    else
      listed+=("$arg")
    fi
  done
  set +e
  listing="$(java "${java_opts[@]}" -cp "$jar" org.openjdk.jmh.Main -lp "${listed[@]}" 2>&1)"
  status=$?
  set -e
  listing="$(grep -v -e '^WARNING: ' -e '^$' <<< "$listing" || true)"
  if [ "$status" -ne 0 ] || ! grep -q '^Benchmarks:' <<< "$listing"; then
    # Its message without the stack frames (a selection that is no regex throws from deep inside).
    { grep -v -E '^[[:space:]]+(at |\.\.\. [0-9]+ more)' <<< "$listing" || true; } | sed 's/^/  /' >&2
    echo "$name: JMH refuses these arguments (status $status; its words above): $what" >&2
    return 2
  fi
  sed -n '/^Benchmarks:/,$p' <<< "$listing" | tail -n +2 | grep -q '^[^ ]' || return 1
  for arg in "$@"; do
    [ "$previous" = -p ] && names+=("${arg%%=*}")
    previous="$arg"
  done
  for param in "${names[@]}"; do
    if ! grep -qF "  param \"$param\" = " <<< "$listing"; then
      theirs="$(sed -n 's/^  param "\([^"]*\)" = .*/\1/p' <<< "$listing" | sort -u | paste -sd ' ' -)"
      echo "$name: -p $param: no benchmark of the selection has a parameter of that name (theirs:" \
        "${theirs:-none}): $what" >&2
      return 2
    fi
  done
}
