/* replay_main.c — runs a libFuzzer entry point over every file of a corpus directory, so the
 * committed corpus is replayed as a ctest in every `make test` (and under ASan in CI). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    DIR *d = opendir(argv[1]);
    if (!d) {
        perror(argv[1]);
        return 1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof(*names));
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp);
    size_t ran = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", argv[1], names[i]);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        struct stat st;
        fstat(fileno(f), &st);
        size_t len = (size_t)st.st_size;
        uint8_t *buf = malloc(len ? len : 1);
        if (fread(buf, 1, len, f) != len) {
            fclose(f);
            free(buf);
            continue;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(buf, len);
        free(buf);
        free(names[i]);
        ran++;
    }
    free(names);
    printf("%zu inputs replayed from %s\n", ran, argv[1]);
    if (ran == 0) {
        fprintf(stderr, "empty corpus: %s\n", argv[1]);
        return 1;
    }
    return 0;
}
