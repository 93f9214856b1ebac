/* The moss command. For now it answers -v and -h; serving arrives with the
 * worker and master issues. */
#include "moss.h"

#include <stdio.h>
#include <string.h>

static const char main_usage[] =
    "usage: moss [-c FILE] [-b ADDR]... [-w N] [--admin ADDR|off] [--app FILE.so]\n"
    "            [-t] [--pid FILE] [-v] [-h]\n"
    "\n"
    "  -v, --version   print the version and exit\n"
    "  -h, --help      print this help and exit\n"
    "\n"
    "This build provides the greenlet runtime only; serving is not built yet.\n";

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
        printf("moss %s\n", moss_version());
        return 0;
    }
    if (argc == 1 || (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))) {
        fputs(main_usage, stdout);
        return 0;
    }
    fprintf(stderr, "moss: unknown argument '%s'\n%s", argv[1], main_usage);
    return 2;
}
