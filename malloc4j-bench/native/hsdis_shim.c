/*
 * HotSpot's disassembler plugin interface for JDK 13 and later (decode_instructions_virtual) over
 * Debian's libhsdis0-fcml, which offers only the older entry point (decode_instructions). The JVM
 * disassembles its own code, in its own address space, so the buffer it passes lies at the
 * addresses it names and the older call, which reads memory at the addresses it is given, fits.
 * Built by malloc4j-bench/perfasm into malloc4j-bench/target/hsdis/hsdis-amd64.so.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>

typedef void *(*event_callback)(void *stream, const char *event, void *arg);
typedef int (*printf_callback)(void *stream, const char *format, ...);
typedef void *(*decode_instructions_fn)(void *start, void *end, event_callback event, void *event_stream,
                                        printf_callback printf_fn, void *printf_stream, const char *options);

#ifndef FCML_HSDIS
#define FCML_HSDIS "libhsdis.so.0"
#endif

void *decode_instructions_virtual(uintptr_t start_va, uintptr_t end_va, unsigned char *buffer, uintptr_t length,
                                  event_callback event, void *event_stream, printf_callback printf_fn,
                                  void *printf_stream, const char *options, int newline) {
    static decode_instructions_fn decode;
    (void) start_va;
    (void) end_va;
    (void) newline;
    if (decode == NULL) {
        void *library = dlopen(FCML_HSDIS, RTLD_NOW);
        if (library == NULL || (decode = (decode_instructions_fn) dlsym(library, "decode_instructions")) == NULL) {
            fprintf(stderr, "hsdis shim: %s\n", dlerror());
            return NULL;
        }
    }
    return decode(buffer, buffer + length, event, event_stream, printf_fn, printf_stream, options);
}
