# Sourced by the benchmark scripts beside it (ab, compare, fork-medians, memory-return, perfasm), after
# scripts/find-jdk.sh. malloc4j_bench_jar NAME sets $jar to malloc4j-bench/target/benchmarks.jar and
# builds it first when it is missing or older than the sources it is made of, saying so as NAME.
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
