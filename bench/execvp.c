/* The floor for any exec wrapper: a program that does nothing but replace itself with
 * its arguments. bench/compare.sh builds it with `cc -static -O2` (no dynamic loader,
 * no libraries to map) and times `execvp-floor true` against `true` alone. */
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs("usage: execvp-floor COMMAND [ARGS...]\n", stderr);
        return 2;
    }
    execvp(argv[1], argv + 1);
    perror(argv[1]);
    return 127;
}
