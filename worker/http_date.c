/* The Date header's value, cached: every response carries one, and
 * formatting a date per response would cost more than the rest of a small
 * response's head. The cache is per thread (each worker thread has its own
 * hub) and follows time(2), so it is reformatted at most once per second. */
#include "http.h"

#include <stdio.h>
#include <time.h>

#define HTTP_DATE_SIZE 32 /* "Sun, 06 Nov 1994 08:49:37 GMT" and NUL */

static _Thread_local struct {
    time_t second;
    char text[HTTP_DATE_SIZE];
} http_date_cache = {.second = (time_t)-1};

const char *moss__http_date(void)
{
    time_t now = time(NULL);
    struct tm tm;

    if (now != http_date_cache.second) {
        /* strftime's %a and %b follow the locale: IMF-fixdate needs English */
        static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
        static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

        gmtime_r(&now, &tm);
        snprintf(http_date_cache.text, sizeof(http_date_cache.text),
                 "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
                 months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
        http_date_cache.second = now;
    }
    return http_date_cache.text;
}
