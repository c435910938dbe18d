/* JPEG decoding behind setjmp. A premature end of file is an error here, not the
 * warning libjpeg makes of it (it would otherwise pad the image with gray). */
#include "internal.h"
#include <jerror.h>
#include <stdlib.h>
#include <string.h>

static void on_error_exit(j_common_ptr c) {
    struct sf_jpeg_err *e = (struct sf_jpeg_err *)c->err;
    char text[JMSG_LENGTH_MAX];
    (*c->err->format_message)(c, text);
    sf_set_msg(e->msg, SF_MSG_MAX, "%s", text);
    longjmp(e->jb, 1);
}

static void on_emit(j_common_ptr c, int level) {
    if (level >= 0) return; /* trace messages */
    struct sf_jpeg_err *e = (struct sf_jpeg_err *)c->err;
    if (c->err->msg_code == JWRN_JPEG_EOF) {
        sf_set_msg(e->msg, SF_MSG_MAX, "premature end of JPEG data (truncated file)");
        longjmp(e->jb, 1);
    }
    c->err->num_warnings++;
}

static void on_output(j_common_ptr c) { (void)c; }

struct jpeg_error_mgr *sf_jpeg_std_error(struct sf_jpeg_err *e, char *msg) {
    jpeg_std_error(&e->pub);
    e->pub.error_exit = on_error_exit;
    e->pub.emit_message = on_emit;
    e->pub.output_message = on_output;
    e->msg = msg;
    return &e->pub;
}

/* A crafted progressive JPEG can hold thousands of tiny scans that take minutes to
 * decode; real encoders use about 10. libjpeg-turbo 3's TurboJPEG API stops at 500. */
#define SF_JPEG_MAX_SCANS 500

static void on_progress(j_common_ptr c) {
    if (!c->is_decompressor) return;
    j_decompress_ptr dc = (j_decompress_ptr)c;
    if (dc->input_scan_number > SF_JPEG_MAX_SCANS) {
        struct sf_jpeg_err *e = (struct sf_jpeg_err *)c->err;
        sf_set_msg(e->msg, SF_MSG_MAX, "more than %d progressive scans (corrupt or malicious file)",
                   SF_JPEG_MAX_SCANS);
        longjmp(e->jb, 1);
    }
}

int sf_jpeg_open(struct sf_decoder *d, long long max_pixels) {
    d->cinfo.err = sf_jpeg_std_error(&d->jerr, d->errmsg);
    if (setjmp(d->jerr.jb)) return SF_ERR_CORRUPT;
    jpeg_create_decompress(&d->cinfo);
    d->jpeg_created = 1;
    d->progress.progress_monitor = on_progress;
    d->cinfo.progress = &d->progress;
    if (d->fp != NULL) {
        rewind(d->fp);
        jpeg_stdio_src(&d->cinfo, d->fp);
    } else {
        jpeg_mem_src(&d->cinfo, d->data, (unsigned long)d->len);
    }
    jpeg_read_header(&d->cinfo, TRUE);
    d->info.width = (int)d->cinfo.image_width;
    d->info.height = (int)d->cinfo.image_height;
    d->info.bit_depth = 8;
    d->info.channels = d->cinfo.num_components;
    d->info.progressive = d->cinfo.progressive_mode ? 1 : 0;
    long long pixels = (long long)d->cinfo.image_width * (long long)d->cinfo.image_height;
    if (pixels > max_pixels) {
        sf_set_msg(d->errmsg, sizeof d->errmsg,
                   "image is %ux%u = %lld pixels, above the limit of %lld pixels",
                   (unsigned)d->cinfo.image_width, (unsigned)d->cinfo.image_height, pixels,
                   max_pixels);
        return SF_ERR_TOO_LARGE;
    }
    return SF_OK;
}

/* Adobe CMYK JPEGs store inverted ink values; convert them to RGB by hand. */
static void cmyk_row_to_rgb(const unsigned char *src, unsigned char *dst, size_t w, int inverted) {
    for (size_t x = 0; x < w; x++) {
        unsigned c = src[4 * x], m = src[4 * x + 1], y = src[4 * x + 2], k = src[4 * x + 3];
        if (!inverted) {
            c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k;
        }
        dst[3 * x] = (unsigned char)((c * k + 127) / 255);
        dst[3 * x + 1] = (unsigned char)((m * k + 127) / 255);
        dst[3 * x + 2] = (unsigned char)((y * k + 127) / 255);
    }
}

int sf_jpeg_decode(struct sf_decoder *d, int mode, unsigned char *dst, size_t dst_len) {
    (void)dst_len;
    if (mode != SF_MODE_RGB) {
        sf_set_msg(d->errmsg, sizeof d->errmsg, "JPEG is lossy, not a label mask");
        return SF_ERR_UNSUPPORTED;
    }
    size_t w = (size_t)d->info.width;
    int cmyk = d->cinfo.jpeg_color_space == JCS_CMYK || d->cinfo.jpeg_color_space == JCS_YCCK;
    if (cmyk) {
        d->tmp = malloc(w * 4 * 4);
        if (d->tmp == NULL) {
            sf_set_msg(d->errmsg, sizeof d->errmsg, "out of memory");
            return SF_ERR_NOMEM;
        }
    }
    if (setjmp(d->jerr.jb)) return SF_ERR_CORRUPT;
    d->cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&d->cinfo);
    int want = cmyk ? 4 : 3;
    if (d->cinfo.output_components != want || d->cinfo.output_width != (JDIMENSION)w ||
        d->cinfo.output_height != (JDIMENSION)d->info.height) {
        sf_set_msg(d->errmsg, sizeof d->errmsg, "unexpected decoder output layout");
        return SF_ERR_UNSUPPORTED;
    }
    while (d->cinfo.output_scanline < d->cinfo.output_height) {
        JDIMENSION y0 = d->cinfo.output_scanline;
        JDIMENSION left = d->cinfo.output_height - y0;
        JDIMENSION n = left < 4 ? left : 4;
        JSAMPROW rows[4];
        for (JDIMENSION i = 0; i < n; i++)
            rows[i] = cmyk ? d->tmp + i * w * 4 : dst + (y0 + i) * w * 3;
        JDIMENSION got = jpeg_read_scanlines(&d->cinfo, rows, n);
        if (got == 0) {
            sf_set_msg(d->errmsg, sizeof d->errmsg, "decoder made no progress");
            return SF_ERR_CORRUPT;
        }
        if (cmyk) {
            int inverted = d->cinfo.saw_Adobe_marker;
            for (JDIMENSION i = 0; i < got; i++)
                cmyk_row_to_rgb(d->tmp + i * w * 4, dst + (y0 + i) * w * 3, w, inverted);
        }
    }
    return SF_OK;
}

void sf_jpeg_close(struct sf_decoder *d) {
    if (d->jpeg_created) jpeg_destroy_decompress(&d->cinfo);
    d->jpeg_created = 0;
}
