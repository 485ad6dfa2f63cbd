# Sourced by the benchmark scripts beside it (compare, memory-return, perfasm), after
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
