/* Opening a source, sniffing its format by magic bytes, dispatching to PNG or JPEG. */
#include "internal.h"
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void sf_set_msg(char *buf, size_t len, const char *fmt, ...) {
    if (buf == NULL || len == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};

int sf_open(const char *path, const void *data, size_t len, long long max_pixels,
            sf_decoder **out, sf_info *info, char *msg, size_t msglen) {
    if (out == NULL || info == NULL) return SF_ERR_ARGUMENT;
    *out = NULL;
    memset(info, 0, sizeof(*info));
    info->png_color_type = -1;
    struct sf_decoder *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        sf_set_msg(msg, msglen, "out of memory");
        return SF_ERR_NOMEM;
    }
    d->info.png_color_type = -1;

    if (path != NULL) {
        d->fp = fopen(path, "rb");
        if (d->fp == NULL) {
            int e = errno;
            sf_set_msg(msg, msglen, "cannot open: %s", strerror(e));
            free(d);
            return SF_ERR_IO;
        }
        size_t n = fread(d->info.magic, 1, 8, d->fp);
        if (n < 8 && ferror(d->fp)) {
            int e = errno;
            sf_set_msg(msg, msglen, "cannot read: %s", strerror(e));
            fclose(d->fp);
            free(d);
            return SF_ERR_IO;
        }
        d->info.magic_len = (int)n;
    } else {
        if (data == NULL && len > 0) {
            free(d);
            return SF_ERR_ARGUMENT;
        }
        d->data = data;
        d->len = len;
        size_t n = len < 8 ? len : 8;
        if (n > 0) memcpy(d->info.magic, data, n);
        d->info.magic_len = (int)n;
        d->pos = n;
    }

    int rc;
    if (d->info.magic_len == 8 && memcmp(d->info.magic, png_sig, 8) == 0) {
        d->format = SF_FORMAT_PNG;
        rc = sf_png_open(d, max_pixels);
    } else if (d->info.magic_len >= 3 && d->info.magic[0] == 0xFF && d->info.magic[1] == 0xD8 &&
               d->info.magic[2] == 0xFF) {
        d->format = SF_FORMAT_JPEG;
        rc = sf_jpeg_open(d, max_pixels);
    } else {
        if (d->info.magic_len == 0)
            sf_set_msg(d->errmsg, sizeof d->errmsg, "empty file (0 bytes)");
        else
            sf_set_msg(d->errmsg, sizeof d->errmsg, "not a PNG or JPEG file");
        rc = SF_ERR_FORMAT;
    }
    d->info.format = d->format;
    *info = d->info;
    if (rc != SF_OK) {
        sf_set_msg(msg, msglen, "%s", d->errmsg);
        sf_close(d);
        return rc;
    }
    *out = d;
    return SF_OK;
}

int sf_decode(sf_decoder *d, int mode, unsigned char *dst, size_t dst_len, char *msg,
              size_t msglen) {
    if (d == NULL || dst == NULL) return SF_ERR_ARGUMENT;
    if (d->decoded) {
        sf_set_msg(msg, msglen, "sf_decode called twice on one decoder");
        return SF_ERR_ARGUMENT;
    }
    size_t per = mode == SF_MODE_RGB ? 3 : 1;
    if (mode != SF_MODE_RGB && mode != SF_MODE_INDEX) return SF_ERR_ARGUMENT;
    if (dst_len != (size_t)d->info.width * (size_t)d->info.height * per) {
        sf_set_msg(msg, msglen, "output buffer has %zu bytes, need %zu", dst_len,
                   (size_t)d->info.width * (size_t)d->info.height * per);
        return SF_ERR_ARGUMENT;
    }
    d->decoded = 1;
    d->errmsg[0] = 0;
    int rc = d->format == SF_FORMAT_PNG ? sf_png_decode(d, mode, dst, dst_len)
                                        : sf_jpeg_decode(d, mode, dst, dst_len);
    if (rc != SF_OK) sf_set_msg(msg, msglen, "%s", d->errmsg);
    return rc;
}

void sf_close(sf_decoder *d) {
    if (d == NULL) return;
    if (d->format == SF_FORMAT_PNG) sf_png_close(d);
    if (d->format == SF_FORMAT_JPEG) sf_jpeg_close(d);
    free(d->tmp);
    free(d->rows);
    if (d->fp != NULL) fclose(d->fp);
    free(d);
}

void sf_free(void *p) { free(p); }
