/* Private to CImageShim: the decoder state shared by the PNG and JPEG halves. */
#ifndef SEGFLOW_CIMAGESHIM_INTERNAL_H
#define SEGFLOW_CIMAGESHIM_INTERNAL_H
#include <setjmp.h>
#include <stdio.h>
#include <stddef.h>
#include <png.h>
#include <jpeglib.h>
#include "CImageShim.h"

#define SF_MSG_MAX 320

/* libjpeg error manager that longjmps back into the shim, never further. */
struct sf_jpeg_err {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char *msg; /* SF_MSG_MAX bytes */
};

struct sf_decoder {
    int format;
    /* source: a FILE when fp != NULL, else memory */
    FILE *fp;
    const unsigned char *data;
    size_t len;
    size_t pos;
    int max_pixels_ok;
    sf_info info;
    char errmsg[SF_MSG_MAX];
    /* PNG */
    png_structp png;
    png_infop pinfo;
    /* JPEG */
    struct jpeg_decompress_struct cinfo;
    struct sf_jpeg_err jerr;
    struct jpeg_progress_mgr progress;
    int jpeg_created;
    /* scratch owned here so that a longjmp cannot leak it */
    unsigned char *tmp;
    unsigned char **rows;
    int decoded;
};

/* Writes a printf-style message into buf (always NUL-terminated). */
void sf_set_msg(char *buf, size_t len, const char *fmt, ...);

int sf_png_open(struct sf_decoder *d, long long max_pixels);
int sf_png_decode(struct sf_decoder *d, int mode, unsigned char *dst, size_t dst_len);
void sf_png_close(struct sf_decoder *d);

int sf_jpeg_open(struct sf_decoder *d, long long max_pixels);
int sf_jpeg_decode(struct sf_decoder *d, int mode, unsigned char *dst, size_t dst_len);
void sf_jpeg_close(struct sf_decoder *d);

/* Installs the shim's error handlers on a libjpeg error manager. */
struct jpeg_error_mgr *sf_jpeg_std_error(struct sf_jpeg_err *e, char *msg);

#endif
