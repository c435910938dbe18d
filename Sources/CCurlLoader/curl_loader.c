/* See CCurlLoader.h: libcurl opened on first use, for static Foundation's URLSession. */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>

#include "CCurlLoader.h"

/* (The system headers curl.h includes come first, outside the hidden region below.) */

/* Everything declared from here on is hidden: the definitions below satisfy FoundationNetworking's
   references when the executable is linked, and are never exported (segflow links with
   --export-dynamic; exported, they would take libcurl's own calls to these functions). */
#pragma GCC visibility push(hidden)
#define CURL_DISABLE_TYPECHECK 1 /* the type-checking macros would rename the definitions below */
#include <curl/curl.h>

/* The library's soname on Debian (libcurl4, or libcurl3-gnutls's libcurl-gnutls.so.4 as a fallback). */
static const char *const library_names[] = {"libcurl.so.4", "libcurl-gnutls.so.4"};

static struct {
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    CURLcode (*easy_pause)(CURL *, int);
    const char *(*easy_strerror)(CURLcode);
    void (*free)(void *);
    CURLcode (*global_init)(long);
    CURLMcode (*multi_add_handle)(CURLM *, CURL *);
    CURLMcode (*multi_assign)(CURLM *, curl_socket_t, void *);
    CURLMcode (*multi_cleanup)(CURLM *);
    CURLMsg *(*multi_info_read)(CURLM *, int *);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
    CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
    CURLMcode (*multi_socket_action)(CURLM *, curl_socket_t, int, int *);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    CURLU *(*url)(void);
    CURLUcode (*url_get)(CURLU *, CURLUPart, char **, unsigned int);
    CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned int);
    char *(*version)(void);
    curl_version_info_data *(*version_info)(CURLversion);
} api;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[512];

static void load(void) {
    void *lib = NULL;
    for (size_t i = 0; i < sizeof library_names / sizeof *library_names && lib == NULL; i++)
        lib = dlopen(library_names[i], RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        const char *why = dlerror();
        snprintf(load_error, sizeof load_error,
                 "cannot load libcurl (libcurl.so.4), which segflow's HTTP clients (VLM labellers, S3 remote) use: %s; "
                 "install it (Debian: apt-get install libcurl4)", why ? why : "not found");
        return;
    }
    struct { void **slot; const char *name; } symbols[] = {
#define SYMBOL(field, name) {(void **)&api.field, name}
        SYMBOL(easy_init, "curl_easy_init"), SYMBOL(easy_cleanup, "curl_easy_cleanup"),
        SYMBOL(easy_setopt, "curl_easy_setopt"), SYMBOL(easy_getinfo, "curl_easy_getinfo"),
        SYMBOL(easy_pause, "curl_easy_pause"), SYMBOL(easy_strerror, "curl_easy_strerror"),
        SYMBOL(free, "curl_free"), SYMBOL(global_init, "curl_global_init"),
        SYMBOL(multi_add_handle, "curl_multi_add_handle"), SYMBOL(multi_assign, "curl_multi_assign"),
        SYMBOL(multi_cleanup, "curl_multi_cleanup"), SYMBOL(multi_info_read, "curl_multi_info_read"),
        SYMBOL(multi_init, "curl_multi_init"), SYMBOL(multi_remove_handle, "curl_multi_remove_handle"),
        SYMBOL(multi_setopt, "curl_multi_setopt"), SYMBOL(multi_socket_action, "curl_multi_socket_action"),
        SYMBOL(slist_append, "curl_slist_append"), SYMBOL(slist_free_all, "curl_slist_free_all"),
        SYMBOL(url, "curl_url"), SYMBOL(url_get, "curl_url_get"), SYMBOL(url_set, "curl_url_set"),
        SYMBOL(version, "curl_version"), SYMBOL(version_info, "curl_version_info"),
#undef SYMBOL
    };
    for (size_t i = 0; i < sizeof symbols / sizeof *symbols; i++) {
        *symbols[i].slot = dlsym(lib, symbols[i].name);
        if (*symbols[i].slot == NULL) {
            snprintf(load_error, sizeof load_error,
                     "the libcurl found lacks %s (segflow needs libcurl 7.62 or later): install Debian's libcurl4",
                     symbols[i].name);
            memset(&api, 0, sizeof api);
            return;
        }
    }
}

#pragma GCC visibility pop
const char *segflow_curl_load_error(void) {
    pthread_once(&once, load);
    return api.easy_init ? NULL : load_error;
}
#pragma GCC visibility push(hidden)

/* The library, opened now if it is not yet; a process that reaches libcurl without it stops here with
   the reason (Foundation cannot work on without it), not later on a null handle. */
static void require(void) {
    const char *error = segflow_curl_load_error();
    if (error != NULL) {
        fprintf(stderr, "segflow: %s\n", error);
        exit(69); /* EX_UNAVAILABLE */
    }
}

CURL *curl_easy_init(void) { require(); return api.easy_init(); }
void curl_easy_cleanup(CURL *h) { require(); api.easy_cleanup(h); }
CURLcode curl_easy_pause(CURL *h, int bitmask) { require(); return api.easy_pause(h, bitmask); }
const char *curl_easy_strerror(CURLcode code) { require(); return api.easy_strerror(code); }
void curl_free(void *p) { require(); api.free(p); }
CURLcode curl_global_init(long flags) { require(); return api.global_init(flags); }
CURLMcode curl_multi_add_handle(CURLM *m, CURL *h) { require(); return api.multi_add_handle(m, h); }
CURLMcode curl_multi_assign(CURLM *m, curl_socket_t s, void *p) { require(); return api.multi_assign(m, s, p); }
CURLMcode curl_multi_cleanup(CURLM *m) { require(); return api.multi_cleanup(m); }
CURLMsg *curl_multi_info_read(CURLM *m, int *left) { require(); return api.multi_info_read(m, left); }
CURLM *curl_multi_init(void) { require(); return api.multi_init(); }
CURLMcode curl_multi_remove_handle(CURLM *m, CURL *h) { require(); return api.multi_remove_handle(m, h); }
CURLMcode curl_multi_socket_action(CURLM *m, curl_socket_t s, int mask, int *running) {
    require(); return api.multi_socket_action(m, s, mask, running);
}
struct curl_slist *curl_slist_append(struct curl_slist *l, const char *s) { require(); return api.slist_append(l, s); }
void curl_slist_free_all(struct curl_slist *l) { require(); api.slist_free_all(l); }
CURLU *curl_url(void) { require(); return api.url(); }
CURLUcode curl_url_get(CURLU *u, CURLUPart what, char **part, unsigned int flags) { require(); return api.url_get(u, what, part, flags); }
CURLUcode curl_url_set(CURLU *u, CURLUPart what, const char *part, unsigned int flags) { require(); return api.url_set(u, what, part, flags); }
char *curl_version(void) { require(); return api.version(); }
curl_version_info_data *curl_version_info(CURLversion v) { require(); return api.version_info(v); }

/* The variadic three take one argument after the option, whose type the option's number range names
   (curl.h: CURLOPTTYPE_*, CURLINFO_* masks): read as that type, passed on as that type. */
#define FORWARD_OPTION(rc, real, handle, option)                                                          \
    do {                                                                                                  \
        va_list ap;                                                                                       \
        va_start(ap, option);                                                                             \
        if ((option) < CURLOPTTYPE_OBJECTPOINT) rc = real(handle, option, va_arg(ap, long));              \
        else if ((option) >= CURLOPTTYPE_OFF_T && (option) < CURLOPTTYPE_BLOB)                            \
            rc = real(handle, option, va_arg(ap, curl_off_t));                                            \
        else rc = real(handle, option, va_arg(ap, void *)); /* object, function and blob pointers */      \
        va_end(ap);                                                                                       \
    } while (0)

CURLcode curl_easy_setopt(CURL *h, CURLoption option, ...) {
    require();
    CURLcode rc;
    FORWARD_OPTION(rc, api.easy_setopt, h, option);
    return rc;
}

CURLMcode curl_multi_setopt(CURLM *m, CURLMoption option, ...) {
    require();
    CURLMcode rc;
    FORWARD_OPTION(rc, api.multi_setopt, m, option);
    return rc;
}

CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...) {
    require();
    va_list ap;
    va_start(ap, info);
    void *out = va_arg(ap, void *); /* every kind of info is written through a pointer */
    va_end(ap);
    return api.easy_getinfo(h, info, out);
}
#pragma GCC visibility pop
