/*
 * alloc_reference: the native reference for malloc4j's PairBenchmark and BatchBenchmark.
 *
 * It times the same two workloads in C, calling each native allocator directly: what a C program
 * pays, with no Java call in between. Its results are JMH-shaped JSON rows named
 * org.malloc4j.bench.PairBenchmark.c_<allocator> (with the same size parameter) and
 * org.malloc4j.bench.BatchBenchmark.c_<allocator>, so RatioTable puts them in the tables of the
 * Java benchmarks, next to malloc4j's scores.
 *
 *   pair   one malloc and its free, back to back; sizes cycle through the same precomputed stream
 *          of 4096 sizes as SizeStream (a fixed size, or "mixed": uniform 16..4096 B, seed 42)
 *   batch  1000 mixed blocks allocated, then freed in the same shuffled order as BatchBenchmark;
 *          the score is per malloc+free pair
 *
 * The allocators are loaded with dlopen(RTLD_NOW | RTLD_LOCAL) and called through the function
 * pointers dlsym returns, as the Java benchmarks call them through downcall handles; the compiler
 * cannot see through such a call, so it cannot drop a malloc/free pair. Like the Java benchmarks,
 * the loops do not touch the blocks. Each benchmark runs in a child process of its own (as JMH
 * forks a JVM), which loads only its allocator, so no allocator starts with another's state.
 *
 * Build: malloc4j-bench/native/build.  Usage: alloc_reference --help.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- what the Java side fixes (Sizes, SizeStream, BatchBenchmark) ---- */

#define STREAM_LENGTH 4096 /* Sizes.STREAM_LENGTH, a power of two */
#define MIXED_MIN 16       /* Sizes.MIXED_MIN */
#define MIXED_MAX 4096     /* Sizes.MIXED_MAX */
#define SEED 42            /* Sizes.SEED */
#define BATCH_BLOCKS 1000  /* BatchBenchmark.BLOCKS */

#define BENCH_PACKAGE "org.malloc4j.bench."
#define MAX_ITERATIONS 100

/* ---- the allocators ---- */

typedef void *(*malloc_fn)(size_t);
typedef void (*free_fn)(void *);

struct allocator {
    const char *peer;        /* the allocator's name; its rows are c_<peer> */
    const char *soname;      /* the library dlopen loads */
    const char *malloc_name; /* its malloc and free symbols */
    const char *free_name;
    const char *hint;        /* how to get it */
    int skipped;             /* set once it failed to load */
};

static struct allocator allocators[] = {
    {"glibc", "libc.so.6", "malloc", "free", "part of the C library", 0},
    {"jemalloc", "libjemalloc.so.2", "malloc", "free",
     "Debian: apt-get install libjemalloc2; its initial-exec TLS may need "
     "GLIBC_TUNABLES=glibc.rtld.optional_static_tls=8192", 0},
    {"mimalloc", "libmimalloc.so.2", "mi_malloc", "mi_free", "Debian: apt-get install libmimalloc2.0", 0},
    {"tcmalloc", "libtcmalloc_minimal.so.4", "tc_malloc", "tc_free",
     "Debian: apt-get install libtcmalloc-minimal4", 0},
};
#define ALLOCATOR_COUNT (sizeof allocators / sizeof allocators[0])

struct calls {
    malloc_fn malloc;
    free_fn free;
};

/* Loads the allocator; on failure, writes why into problem and returns -1. */
static int load(const struct allocator *a, struct calls *calls, char *problem, size_t problem_size) {
    void *library = dlopen(a->soname, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        const char *error = dlerror();
        snprintf(problem, problem_size, "%s does not load: %s (%s)", a->soname, error ? error : "dlopen failed",
                 a->hint);
        return -1;
    }
    calls->malloc = (malloc_fn) dlsym(library, a->malloc_name);
    calls->free = (free_fn) dlsym(library, a->free_name);
    if (calls->malloc == NULL || calls->free == NULL) {
        snprintf(problem, problem_size, "%s has no symbol %s", a->soname,
                 calls->malloc == NULL ? a->malloc_name : a->free_name);
        return -1;
    }
    return 0;
}

/* ---- the size stream: java.util.SplittableRandom, as Sizes draws from it ---- */

/* SplittableRandom(seed): the seed advances by a fixed odd gamma, and each int is the high half of
 * a 64-bit mix of the seed. */
struct java_random {
    uint64_t seed;
};

static int32_t java_next_int(struct java_random *random) {
    uint64_t z = random->seed += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 33)) * 0x62a9d9ed799705f5ULL;
    return (int32_t) (((z ^ (z >> 28)) * 0xcb24d0a5c88c35b3ULL) >> 32);
}

/* nextInt(origin, bound) and nextInt(bound) (origin 0): a power-of-two range is masked; any other
 * rejects the draws that would favour low values, with Java's int arithmetic (which wraps). */
static int32_t java_next_int_between(struct java_random *random, int32_t origin, int32_t bound) {
    int32_t range = bound - origin;
    int32_t mask = range - 1;
    int32_t r = java_next_int(random);
    if ((range & mask) == 0) {
        return (r & mask) + origin;
    }
    for (uint32_t u = (uint32_t) r >> 1;; u = (uint32_t) java_next_int(random) >> 1) {
        r = (int32_t) (u % (uint32_t) range);
        if ((int32_t) (u + (uint32_t) mask - (uint32_t) r) >= 0) {
            return r + origin;
        }
    }
}

/* Sizes.of(spec, count): "mixed" or a byte count. Returns -1 for anything else. */
static int sizes_of(const char *spec, size_t *sizes, int count) {
    if (strcmp(spec, "mixed") == 0) {
        struct java_random random = {SEED};
        for (int i = 0; i < count; i++) {
            sizes[i] = (size_t) java_next_int_between(&random, MIXED_MIN, MIXED_MAX + 1);
        }
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long size = strtoull(spec, &end, 10);
    if (errno != 0 || end == spec || *end != '\0' || spec[0] == '-') {
        return -1;
    }
    for (int i = 0; i < count; i++) {
        sizes[i] = (size_t) size;
    }
    return 0;
}

/* Sizes.shuffledOrder(count): 0..count-1 shuffled (Fisher-Yates, from the top) with seed 43. */
static void shuffled_order(int *order, int count) {
    for (int i = 0; i < count; i++) {
        order[i] = i;
    }
    struct java_random random = {SEED + 1};
    for (int i = count - 1; i > 0; i--) {
        int j = java_next_int_between(&random, 0, i + 1);
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

/* ---- timing ---- */

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec * 1e9 + (double) t.tv_nsec;
}

/* Every block's address is folded in here, so the loops have a result the program keeps. */
static volatile uintptr_t sink;

static void out_of_memory(size_t size) {
    fprintf(stderr, "alloc_reference: malloc(%zu) returned NULL\n", size);
    exit(3);
}

struct workload {
    const struct calls *calls;
    const size_t *sizes; /* STREAM_LENGTH sizes (pair) or BATCH_BLOCKS sizes (batch) */
    const int *free_order;
    void **blocks;
    unsigned next; /* the pair stream's position, kept across rounds as SizeStream keeps it */
};

/* One round of the pair benchmark: 1024 malloc+free pairs. */
#define PAIR_ROUND 1024

static long pair_round(struct workload *w) {
    malloc_fn m = w->calls->malloc;
    free_fn f = w->calls->free;
    uintptr_t seen = 0;
    unsigned next = w->next;
    for (int i = 0; i < PAIR_ROUND; i++) {
        size_t size = w->sizes[next++ & (STREAM_LENGTH - 1)];
        void *block = m(size);
        if (block == NULL) {
            out_of_memory(size);
        }
        f(block);
        seen ^= (uintptr_t) block;
    }
    w->next = next;
    sink ^= seen;
    return PAIR_ROUND;
}

/* One round of the batch benchmark: BATCH_BLOCKS blocks allocated, then freed in shuffled order. */
static long batch_round(struct workload *w) {
    malloc_fn m = w->calls->malloc;
    free_fn f = w->calls->free;
    uintptr_t seen = 0;
    for (int i = 0; i < BATCH_BLOCKS; i++) {
        void *block = m(w->sizes[i]);
        if (block == NULL) {
            out_of_memory(w->sizes[i]);
        }
        w->blocks[i] = block;
        seen ^= (uintptr_t) block;
    }
    for (int i = 0; i < BATCH_BLOCKS; i++) {
        f(w->blocks[w->free_order[i]]);
    }
    sink ^= seen;
    return BATCH_BLOCKS;
}

/* Runs rounds for at least millis ms; returns ns per pair. */
static double iteration(long (*round)(struct workload *), struct workload *w, int millis) {
    double start = now_ns();
    double deadline = start + millis * 1e6;
    double end;
    long pairs = 0;
    do {
        pairs += round(w);
        end = now_ns();
    } while (end < deadline);
    return (end - start) / (double) pairs;
}

/* ---- one benchmark, in a child process ---- */

struct options {
    int warmup_iterations, warmup_millis, iterations, millis;
};

struct outcome {
    int n;                                /* samples, or 0 if the allocator could not be used */
    double samples[MAX_ITERATIONS];       /* ns per pair, one per measured iteration */
    char problem[768];                    /* why not, when n == 0 */
};

/* size_spec is the pair size, or NULL for the batch. */
static void measure(const struct allocator *a, const char *size_spec, const struct options *o,
                    struct outcome *out) {
    static size_t sizes[STREAM_LENGTH];
    static int free_order[BATCH_BLOCKS];
    static void *blocks[BATCH_BLOCKS];
    struct calls calls;
    memset(out, 0, sizeof *out);
    if (load(a, &calls, out->problem, sizeof out->problem) != 0) {
        return;
    }
    struct workload w = {&calls, sizes, free_order, blocks, 0};
    long (*round)(struct workload *) = pair_round;
    if (size_spec == NULL) {
        sizes_of("mixed", sizes, BATCH_BLOCKS);
        shuffled_order(free_order, BATCH_BLOCKS);
        round = batch_round;
    } else {
        sizes_of(size_spec, sizes, STREAM_LENGTH);
    }
    for (int i = 0; i < o->warmup_iterations; i++) {
        iteration(round, &w, o->warmup_millis);
    }
    for (int i = 0; i < o->iterations; i++) {
        out->samples[i] = iteration(round, &w, o->millis);
    }
    out->n = o->iterations;
}

/* Runs measure() in a child process, as JMH runs a benchmark in a forked JVM. */
static void measure_in_child(const struct allocator *a, const char *size_spec, const struct options *o,
                             struct outcome *out) {
    int fds[2];
    memset(out, 0, sizeof *out);
    fflush(NULL);
    if (pipe(fds) != 0) {
        snprintf(out->problem, sizeof out->problem, "pipe: %s", strerror(errno));
        return;
    }
    pid_t child = fork();
    if (child < 0) {
        snprintf(out->problem, sizeof out->problem, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return;
    }
    if (child == 0) {
        static struct outcome result;
        close(fds[0]);
        measure(a, size_spec, o, &result);
        const char *bytes = (const char *) &result;
        size_t left = sizeof result;
        while (left > 0) {
            ssize_t written = write(fds[1], bytes, left);
            if (written <= 0) {
                _exit(4);
            }
            bytes += written;
            left -= (size_t) written;
        }
        _exit(0);
    }
    close(fds[1]);
    char *bytes = (char *) out;
    size_t got = 0;
    while (got < sizeof *out) {
        ssize_t r = read(fds[0], bytes + got, sizeof *out - got);
        if (r <= 0) {
            break;
        }
        got += (size_t) r;
    }
    close(fds[0]);
    int status;
    waitpid(child, &status, 0);
    if (got != sizeof *out) {
        memset(out, 0, sizeof *out);
        if (WIFSIGNALED(status)) {
            snprintf(out->problem, sizeof out->problem, "the benchmark process died of signal %d (%s)",
                     WTERMSIG(status), strsignal(WTERMSIG(status)));
        } else {
            snprintf(out->problem, sizeof out->problem, "the benchmark process exited with status %d",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        }
    }
}

/* ---- statistics, as JMH reports them ---- */

/* Student's t at 99.95 % (two-sided 99.9 %), for JMH's score error; index = degrees of freedom. */
static double student_t_999(int df) {
    static const double table[] = {0, 636.62, 31.599, 12.924, 8.610, 6.869, 5.959, 5.408, 5.041, 4.781, 4.587,
                                   4.437, 4.318, 4.221, 4.140, 4.073, 4.015, 3.965, 3.922, 3.883, 3.850,
                                   3.819, 3.792, 3.768, 3.745, 3.725, 3.707, 3.690, 3.674, 3.659, 3.646};
    if (df < (int) (sizeof table / sizeof table[0])) {
        return table[df];
    }
    return df < 60 ? 3.551 : df < 120 ? 3.460 : 3.373; /* the table's 40 / 60 / 120 rows, rounded down */
}

struct summary {
    double mean, error, best, median, worst;
};

static int compare_doubles(const void *x, const void *y) {
    double a = *(const double *) x, b = *(const double *) y;
    return (a > b) - (a < b);
}

static struct summary summarize(const struct outcome *o) {
    struct summary s;
    double sorted[MAX_ITERATIONS];
    double sum = 0;
    for (int i = 0; i < o->n; i++) {
        sum += o->samples[i];
        sorted[i] = o->samples[i];
    }
    qsort(sorted, (size_t) o->n, sizeof sorted[0], compare_doubles);
    s.mean = sum / o->n;
    s.best = sorted[0];
    s.worst = sorted[o->n - 1];
    s.median = o->n % 2 ? sorted[o->n / 2] : (sorted[o->n / 2 - 1] + sorted[o->n / 2]) / 2;
    if (o->n < 3) {
        s.error = NAN; /* as JMH, which gives no error for 1 or 2 iterations, so '-' means one thing in a table */
    } else {
        double squares = 0;
        for (int i = 0; i < o->n; i++) {
            squares += (o->samples[i] - s.mean) * (o->samples[i] - s.mean);
        }
        s.error = student_t_999(o->n - 1) * sqrt(squares / (o->n - 1)) / sqrt(o->n);
    }
    return s;
}

/* ---- output ---- */

static void json_number(FILE *f, double value) {
    if (isnan(value)) {
        fputs("\"NaN\"", f); /* as JMH writes it */
    } else {
        fprintf(f, "%.6g", value);
    }
}

static void json_row(FILE *f, int first, const struct allocator *a, const char *size_spec, const struct options *o,
                     const struct outcome *out) {
    struct summary s = summarize(out);
    fprintf(f, "%s  {\n", first ? "" : ",\n");
    fprintf(f, "    \"benchmark\" : \"" BENCH_PACKAGE "%s.c_%s\",\n", size_spec ? "PairBenchmark" : "BatchBenchmark",
            a->peer);
    fprintf(f, "    \"mode\" : \"avgt\",\n    \"threads\" : 1,\n    \"forks\" : 1,\n");
    fprintf(f, "    \"nativeReference\" : true,\n");
    fprintf(f, "    \"jvm\" : \"native C (gcc %s), %s\",\n", __VERSION__, a->soname);
    fprintf(f, "    \"warmupIterations\" : %d,\n    \"warmupTime\" : \"%d ms\",\n", o->warmup_iterations,
            o->warmup_millis);
    fprintf(f, "    \"measurementIterations\" : %d,\n    \"measurementTime\" : \"%d ms\",\n", o->iterations,
            o->millis);
    if (size_spec) {
        fprintf(f, "    \"params\" : {\n      \"size\" : \"%s\"\n    },\n", size_spec);
    }
    fprintf(f, "    \"primaryMetric\" : {\n      \"score\" : ");
    json_number(f, s.mean);
    fprintf(f, ",\n      \"scoreError\" : ");
    json_number(f, s.error);
    fprintf(f, ",\n      \"scoreConfidence\" : [ ");
    json_number(f, s.mean - s.error);
    fprintf(f, ", ");
    json_number(f, s.mean + s.error);
    fprintf(f, " ],\n      \"scorePercentiles\" : {\n        \"0.0\" : ");
    json_number(f, s.best);
    fprintf(f, ",\n        \"50.0\" : ");
    json_number(f, s.median);
    fprintf(f, ",\n        \"100.0\" : ");
    json_number(f, s.worst);
    fprintf(f, "\n      },\n      \"scoreUnit\" : \"ns/op\",\n      \"rawData\" : [ [ ");
    for (int i = 0; i < out->n; i++) {
        if (i > 0) {
            fprintf(f, ", ");
        }
        json_number(f, out->samples[i]);
    }
    fprintf(f, " ] ]\n    },\n    \"secondaryMetrics\" : {\n    }\n  }");
}

static void print_line(const struct allocator *a, const char *size_spec, const struct outcome *out) {
    char name[64];
    snprintf(name, sizeof name, "%s%s", size_spec ? "size=" : "batch", size_spec ? size_spec : "");
    if (out->n == 0) {
        printf("%-14s c_%-9s skipped: %s\n", name, a->peer, out->problem);
        return;
    }
    struct summary s = summarize(out);
    char error[32] = "-";
    if (!isnan(s.error)) {
        snprintf(error, sizeof error, "%.2f", s.error);
    }
    printf("%-14s c_%-9s %10.2f %10.2f %10s\n", name, a->peer, s.best, s.mean, error);
}

/* ---- command line ---- */

static const char *const ALL_SIZES = "16,64,256,1024,4096,65536,1048576,mixed";

static void usage(FILE *f) {
    fprintf(f,
            "usage: alloc_reference [options]\n"
            "Times malloc+free pairs and 1000-block batches in C against glibc, jemalloc, mimalloc and\n"
            "tcmalloc, as malloc4j's PairBenchmark and BatchBenchmark time them in Java; ns per pair.\n"
            "  --sizes LIST     pair sizes, comma separated (default %s); none: no pairs\n"
            "  --no-batch       leave out the batch\n"
            "  --peers LIST     allocators, comma separated (default glibc,jemalloc,mimalloc,tcmalloc)\n"
            "  -o FILE          also write the results as JMH JSON (-rf json) to FILE, once measured\n"
            "  -wi N, -w MS     warmup iterations and their length in ms (default 4, 50)\n"
            "  -i N, -r MS      measured iterations and their length in ms (default 10, 40)\n"
            "  --print-sizes    print the mixed size stream and the batch's free order, then exit\n"
            "  --check          check the other options, then exit without measuring (status 0 or 2)\n"
            "Exit: 0 when something was measured; 1 when nothing was (FILE is then left as it was),\n"
            "or FILE could not be written; 2 for bad arguments.\n",
            ALL_SIZES);
}

static int number_arg(const char *text, int min, int max, const char *option) {
    char *end;
    long value = strtol(text ? text : "", &end, 10);
    if (text == NULL || end == text || *end != '\0' || value < min || value > max) {
        fprintf(stderr, "alloc_reference: %s needs a number from %d to %d\n", option, min, max);
        exit(2);
    }
    return (int) value;
}

/* Exits with status 2, naming the problem, unless every name in the comma-separated list is a peer's. */
static void check_peers(const char *list) {
    char *copy = strdup(list);
    int names = 0;
    for (char *name = strtok(copy, ","); name; name = strtok(NULL, ",")) {
        int known = 0;
        for (size_t k = 0; k < ALLOCATOR_COUNT; k++) {
            known |= strcmp(name, allocators[k].peer) == 0;
        }
        if (!known) {
            fprintf(stderr, "alloc_reference: --peers: no allocator is named %s (the allocators:", name);
            for (size_t k = 0; k < ALLOCATOR_COUNT; k++) {
                fprintf(stderr, "%s %s", k ? "," : "", allocators[k].peer);
            }
            fprintf(stderr, ")\n");
            exit(2);
        }
        names++;
    }
    free(copy);
    if (names == 0) {
        fprintf(stderr, "alloc_reference: --peers names no allocator\n");
        exit(2);
    }
}

/* Whether a file can be written at path: an existing file writable, or a new one in a writable folder. */
static int writable(const char *path) {
    if (access(path, F_OK) == 0) {
        return access(path, W_OK) == 0;
    }
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        return access(".", W_OK) == 0;
    }
    char folder[4096];
    size_t length = slash == path ? 1 : (size_t) (slash - path);
    if (length >= sizeof folder) {
        return 0;
    }
    memcpy(folder, path, length);
    folder[length] = '\0';
    return access(folder, W_OK) == 0;
}

static int listed(const char *list, const char *word) {
    size_t length = strlen(word);
    for (const char *at = list; (at = strstr(at, word)) != NULL; at += length) {
        if ((at == list || at[-1] == ',') && (at[length] == ',' || at[length] == '\0')) {
            return 1;
        }
    }
    return 0;
}

/*
 * Debian's libjemalloc2 uses initial-exec TLS, which dlopen can place only in the surplus of static
 * TLS that the dynamic loader reserves at process start; the default surplus is too small for it.
 * Unless the environment already sets the surplus, the program starts itself again with room
 * reserved (the value the JVM needs for the same library), so its children inherit it.
 */
#define STATIC_TLS_TUNABLE "glibc.rtld.optional_static_tls"

static void reserve_static_tls(char **argv) {
    const char *tunables = getenv("GLIBC_TUNABLES");
    if (tunables != NULL && strstr(tunables, STATIC_TLS_TUNABLE) != NULL) {
        return;
    }
    char value[1024];
    int length = snprintf(value, sizeof value, "%s%s" STATIC_TLS_TUNABLE "=8192", tunables ? tunables : "",
                          tunables && *tunables ? ":" : "");
    if (length < 0 || (size_t) length >= sizeof value || setenv("GLIBC_TUNABLES", value, 1) != 0) {
        return;
    }
    execv("/proc/self/exe", argv);
    /* not re-executed: jemalloc may not load, and says so */
}

int main(int argc, char **argv) {
    reserve_static_tls(argv);
    struct options o = {4, 50, 10, 40};
    const char *size_list = ALL_SIZES;
    const char *peer_list = NULL;
    const char *json_path = NULL;
    int batch = 1;
    int check_only = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--sizes") == 0 && value) {
            size_list = argv[++i];
        } else if (strcmp(arg, "--peers") == 0 && value) {
            peer_list = argv[++i];
        } else if (strcmp(arg, "-o") == 0 && value) {
            json_path = argv[++i];
        } else if (strcmp(arg, "--no-batch") == 0) {
            batch = 0;
        } else if (strcmp(arg, "--check") == 0) {
            check_only = 1;
        } else if (strcmp(arg, "-wi") == 0) {
            o.warmup_iterations = number_arg(value, 0, 1000, arg), i++;
        } else if (strcmp(arg, "-w") == 0) {
            o.warmup_millis = number_arg(value, 1, 60000, arg), i++;
        } else if (strcmp(arg, "-i") == 0) {
            o.iterations = number_arg(value, 1, MAX_ITERATIONS, arg), i++;
        } else if (strcmp(arg, "-r") == 0) {
            o.millis = number_arg(value, 1, 60000, arg), i++;
        } else if (strcmp(arg, "--print-sizes") == 0) {
            static size_t sizes[STREAM_LENGTH];
            static int order[BATCH_BLOCKS];
            sizes_of("mixed", sizes, STREAM_LENGTH);
            shuffled_order(order, BATCH_BLOCKS);
            printf("mixed sizes:");
            for (int k = 0; k < STREAM_LENGTH; k++) {
                printf(" %zu", sizes[k]);
            }
            printf("\nbatch free order:");
            for (int k = 0; k < BATCH_BLOCKS; k++) {
                printf(" %d", order[k]);
            }
            printf("\n");
            return 0;
        } else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "alloc_reference: unknown or incomplete option %s\n", arg);
            usage(stderr);
            return 2;
        }
    }
    if (peer_list) {
        check_peers(peer_list);
        for (size_t k = 0; k < ALLOCATOR_COUNT; k++) {
            allocators[k].skipped = !listed(peer_list, allocators[k].peer);
        }
    }

    /* The benchmarks: each pair size, then the batch (spec NULL). */
    const char *specs[64];
    int spec_count = 0;
    char *sizes_copy = strdup(size_list);
    if (strcmp(size_list, "none") != 0) {
        for (char *spec = strtok(sizes_copy, ","); spec; spec = strtok(NULL, ",")) {
            size_t probe[1];
            if (sizes_of(spec, probe, 1) != 0 || spec_count == 63) {
                fprintf(stderr, "alloc_reference: a size is a byte count or \"mixed\": %s\n", spec);
                return 2;
            }
            specs[spec_count++] = spec;
        }
    }
    if (batch) {
        specs[spec_count++] = NULL;
    }
    if (spec_count == 0) {
        fprintf(stderr, "alloc_reference: nothing to measure (--sizes none and --no-batch)\n");
        return 2;
    }
    /* Every option is read and checked by now: compare --native refuses bad ones before it runs anything. */
    if (check_only) {
        return 0;
    }

    /*
     * The rows collect in memory and go to the file only once something was measured: a run that
     * measured nothing leaves an earlier file as it was. Whether the file can be written is checked
     * now, before the measuring.
     */
    FILE *json = NULL;
    char *json_text = NULL;
    size_t json_length = 0;
    if (json_path) {
        if (!writable(json_path)) {
            fprintf(stderr, "alloc_reference: cannot write %s: %s\n", json_path, strerror(errno));
            return 1;
        }
        json = open_memstream(&json_text, &json_length);
        if (json == NULL) {
            fprintf(stderr, "alloc_reference: %s\n", strerror(errno));
            return 1;
        }
        fputs("[\n", json);
    }
    printf("native reference (C, gcc %s): ns per malloc+free pair; %d x %d ms warmup, %d x %d ms measured\n",
           __VERSION__, o.warmup_iterations, o.warmup_millis, o.iterations, o.millis);
    printf("%-14s %-11s %10s %10s %11s\n", "benchmark", "peer", "best", "mean", "± error");
    int rows = 0;
    for (int s = 0; s < spec_count; s++) {
        for (size_t k = 0; k < ALLOCATOR_COUNT; k++) {
            struct allocator *a = &allocators[k];
            if (a->skipped) {
                continue;
            }
            static struct outcome out;
            measure_in_child(a, specs[s], &o, &out);
            print_line(a, specs[s], &out);
            fflush(stdout);
            if (out.n == 0) {
                a->skipped = 1; /* the reason is printed once; the allocator's other benchmarks go too */
                continue;
            }
            if (json) {
                json_row(json, rows == 0, a, specs[s], &o, &out);
            }
            rows++;
        }
    }
    free(sizes_copy);
    if (rows == 0) {
        fprintf(stderr, "alloc_reference: nothing was measured: every allocator was skipped (above)%s\n",
                json ? "; the JSON file is not written" : "");
        return 1;
    }
    if (json) {
        fputs("\n]\n", json);
        FILE *file = NULL;
        if (fclose(json) != 0 || (file = fopen(json_path, "w")) == NULL
            || fwrite(json_text, 1, json_length, file) != json_length || fclose(file) != 0) {
            fprintf(stderr, "alloc_reference: cannot write %s: %s\n", json_path, strerror(errno));
            return 1;
        }
        free(json_text);
    }
    return 0;
}
