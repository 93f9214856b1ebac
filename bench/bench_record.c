/* Writes one bench run as JSON: bench_record FIGURES OUT.json SUMMARY
 *
 * FIGURES has one figure a line, "KEY VALUE UNIT", KEY dotted
 * (throughput.moss.c50.requests_per_s): each becomes
 * {"value": VALUE, "unit": UNIT} nested under the parts of its key. VALUE is
 * a number when it reads as one, a boolean for true or false, else a string; a UNIT of "-" is
 * left out. The machine (CPU model, cores, kernel, load average) and the
 * date (UTC) are read here; SUMMARY is the run's one-line summary. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static __attribute__((noreturn)) void die(const char *call, const char *object)
{
    fprintf(stderr, "bench_record: %s (%s): %s\n", call, object, strerror(errno));
    exit(1);
}

/* The first line of path that starts with prefix, after its ": ", into out;
 * "unknown" if none. */
static void read_field(const char *path, const char *prefix, char *out, size_t cap)
{
    char line[512];
    FILE *f = fopen(path, "r");

    snprintf(out, cap, "unknown");
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        char *colon = strchr(line, ':');

        if (strncmp(line, prefix, strlen(prefix)) != 0 || colon == NULL)
            continue;
        colon += strspn(colon + 1, " \t") + 1;
        colon[strcspn(colon, "\n")] = '\0';
        snprintf(out, cap, "%s", colon);
        break;
    }
    if (f != NULL)
        fclose(f);
}

static json_t *machine_info(void)
{
    char cpu[256], load[128] = "unknown";
    struct utsname u;
    FILE *f = fopen("/proc/loadavg", "r");

    read_field("/proc/cpuinfo", "model name", cpu, sizeof(cpu));
    if (f != NULL) {
        if (fgets(load, sizeof(load), f) != NULL)
            load[strcspn(load, "\n")] = '\0';
        fclose(f);
    }
    if (uname(&u) == -1)
        die("uname", "kernel");
    return json_pack("{s:s, s:I, s:s, s:s, s:s}", "cpu_model", cpu, "cores",
                     (json_int_t)sysconf(_SC_NPROCESSORS_ONLN), "kernel", u.release,
                     "arch", u.machine, "loadavg_at_end", load);
}

static json_t *date_now(void)
{
    char text[32];
    time_t t = time(NULL);
    struct tm tm;

    strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    return json_string(text);
}

/* The object at the dotted path key under root (made as needed), the last
 * part left in *leaf; NULL if a part is already a figure. */
static json_t *object_at(json_t *root, char *key, char **leaf)
{
    char *dot;

    while ((dot = strchr(key, '.')) != NULL) {
        json_t *child;

        *dot = '\0';
        child = json_object_get(root, key);
        if (child == NULL) {
            child = json_object();
            if (json_object_set_new(root, key, child) == -1)
                return NULL;
        }
        if (!json_is_object(child) || json_object_get(child, "value") != NULL)
            return NULL;
        root = child;
        key = dot + 1;
    }
    *leaf = key;
    return root;
}

static json_t *figure_value(const char *text)
{
    char *end;
    double v;

    if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0)
        return json_boolean(text[0] == 't');
    errno = 0;
    v = strtod(text, &end);
    if (*end != '\0' || end == text || errno != 0)
        return json_string(text);
    if (v == (double)(json_int_t)v && strchr(text, '.') == NULL)
        return json_integer((json_int_t)v);
    return json_real(v);
}

/* Adds one "KEY VALUE UNIT" line to figures; -1 (EINVAL) for a bad line. */
static int add_figure(json_t *figures, char *line)
{
    char *save, *key = strtok_r(line, " \t\n", &save);
    char *value = strtok_r(NULL, " \t\n", &save), *unit = strtok_r(NULL, " \t\n", &save);
    char *leaf;
    json_t *parent, *figure;

    if (key == NULL)
        return 0;
    if (value == NULL || (parent = object_at(figures, key, &leaf)) == NULL)
        return errno = EINVAL, -1;
    figure = json_pack("{s:o}", "value", figure_value(value));
    if (figure == NULL)
        return errno = ENOMEM, -1;
    if (unit != NULL && strcmp(unit, "-") != 0)
        json_object_set_new(figure, "unit", json_string(unit));
    return json_object_set_new(parent, leaf, figure);
}

static json_t *read_figures(const char *path)
{
    char line[512];
    json_t *figures = json_object();
    FILE *f = fopen(path, "r");

    if (f == NULL || figures == NULL)
        die("fopen", path);
    while (fgets(line, sizeof(line), f) != NULL) {
        char copy[512];

        snprintf(copy, sizeof(copy), "%s", line);
        if (add_figure(figures, line) == -1)
            fprintf(stderr, "bench_record: %s: skipped: %s", path, copy);
    }
    fclose(f);
    return figures;
}

int main(int argc, char **argv)
{
    json_t *run;
    FILE *out;

    if (argc != 4) {
        fprintf(stderr, "usage: bench_record FIGURES OUT.json SUMMARY\n");
        return 2;
    }
    run = json_pack("{s:o, s:o, s:s, s:o}", "date", date_now(), "machine", machine_info(),
                    "summary", argv[3], "figures", read_figures(argv[1]));
    if (run == NULL)
        die("json_pack", "results");
    out = fopen(argv[2], "w");
    if (out == NULL || json_dumpf(run, out, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) == -1 || fputc('\n', out) == EOF ||
        fclose(out) == EOF)
        die("write", argv[2]);
    json_decref(run);
    return 0;
}
