#ifndef SEGFLOW_CCURLLOADER_H
#define SEGFLOW_CCURLLOADER_H
/* libcurl loaded on first use. Static Foundation's URLSession calls 23 libcurl functions; linked
   directly, libcurl and the ~30 libraries it needs are loaded and relocated at every start (~11 ms of
   each `segflow` command here), though only the VLM labellers and the S3 remote speak HTTP. This target
   defines those 23 functions (hidden: they are not exported, so libcurl's own calls never reach them)
   and forwards each to libcurl, opened with dlopen the first time one is called. */
#ifdef __cplusplus
extern "C" {
#endif

/* Opens libcurl if it is not yet open. NULL when it is, else why it cannot be (a message naming the
   library and the Debian package that provides it). Callers check this before making a URLSession:
   a missing library is then a clear error instead of a stop inside Foundation. */
const char *segflow_curl_load_error(void);

#ifdef __cplusplus
}
#endif
#endif
