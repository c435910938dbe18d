/* PNG and JPEG encoding into growable memory buffers, behind setjmp. */
#include "internal.h"
#include <stdlib.h>
#include <string.h>

/* MARK: - PNG */

struct png_out {
    unsigned char *buf;
    size_t len, cap;
    char msg[SF_MSG_MAX];
};

static void png_out_error(png_structp png, png_const_charp message) {
    struct png_out *o = png_get_error_ptr(png);
    sf_set_msg(o->msg, sizeof o->msg, "%s", message);
    png_longjmp(png, 1);
}

static void png_out_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

static void png_out_write(png_structp png, png_bytep data, size_t n) {
    struct png_out *o = png_get_io_ptr(png);
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 65536;
        while (cap < o->len + n) cap *= 2;
        unsigned char *nb = realloc(o->buf, cap);
        if (nb == NULL) png_error(png, "out of memory");
        o->buf = nb;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, data, n);
    o->len += n;
}

static void png_out_flush(png_structp png) { (void)png; }

int sf_png_encode(const unsigned char *pixels, int width, int height, int color_type,
                  const unsigned char *palette, int palette_count, int level,
                  unsigned char **out, size_t *out_len, char *msg, size_t msglen) {
    if (out == NULL || out_len == NULL || pixels == NULL || width <= 0 || height <= 0)
        return SF_ERR_ARGUMENT;
    *out = NULL;
    *out_len = 0;
    size_t bpp;
    if (color_type == SF_PNG_RGB) bpp = 3;
    else if (color_type == SF_PNG_GRAY || color_type == SF_PNG_PALETTE) bpp = 1;
    else {
        sf_set_msg(msg, msglen, "unsupported PNG colour type %d for writing", color_type);
        return SF_ERR_ARGUMENT;
    }
    if (color_type == SF_PNG_PALETTE && (palette == NULL || palette_count < 1 || palette_count > 256)) {
        sf_set_msg(msg, msglen, "a palette PNG needs 1 to 256 palette entries (got %d)", palette_count);
        return SF_ERR_ARGUMENT;
    }
    const int zlevel = level < 0 ? 0 : level > 9 ? 9 : level;

    /* Heap state: nothing the longjmp path reads lives in a register. */
    struct png_out *o = calloc(1, sizeof(*o));
    if (o == NULL) return SF_ERR_NOMEM;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, o, png_out_error, png_out_warning);
    png_infop info = png != NULL ? png_create_info_struct(png) : NULL;
    if (png == NULL || info == NULL) {
        if (png != NULL) png_destroy_write_struct(&png, NULL);
        free(o);
        sf_set_msg(msg, msglen, "out of memory");
        return SF_ERR_NOMEM;
    }
    if (setjmp(png_jmpbuf(png))) {
        sf_set_msg(msg, msglen, "%s", o->msg);
        png_destroy_write_struct(&png, &info);
        free(o->buf);
        free(o);
        return SF_ERR_CORRUPT;
    }
    png_set_write_fn(png, o, png_out_write, png_out_flush);
    /* Always bit depth 8: the simplified API would pack <= 16 colours into 1/2/4 bits. */
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, color_type,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (color_type == SF_PNG_PALETTE) {
        png_color pal[256];
        for (int i = 0; i < palette_count; i++) {
            pal[i].red = palette[3 * i];
            pal[i].green = palette[3 * i + 1];
            pal[i].blue = palette[3 * i + 2];
        }
        png_set_PLTE(png, info, pal, palette_count);
    }
    png_set_compression_level(png, zlevel);
    png_write_info(png, info);
    size_t stride = (size_t)width * bpp;
    for (int y = 0; y < height; y++) png_write_row(png, pixels + (size_t)y * stride);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    *out = o->buf;
    *out_len = o->len;
    free(o);
    return SF_OK;
}

/* MARK: - JPEG */

struct jpeg_out {
    struct jpeg_compress_struct cinfo;
    struct sf_jpeg_err jerr;
    unsigned char *buf;
    unsigned long len;
    char msg[SF_MSG_MAX];
};

int sf_jpeg_encode(const unsigned char *rgb, int width, int height, int quality,
                   int progressive, unsigned char **out, size_t *out_len, char *msg,
                   size_t msglen) {
    if (out == NULL || out_len == NULL || rgb == NULL || width <= 0 || height <= 0)
        return SF_ERR_ARGUMENT;
    *out = NULL;
    *out_len = 0;
    struct jpeg_out *o = calloc(1, sizeof(*o));
    if (o == NULL) return SF_ERR_NOMEM;
    o->cinfo.err = sf_jpeg_std_error(&o->jerr, o->msg);
    if (setjmp(o->jerr.jb)) {
        sf_set_msg(msg, msglen, "%s", o->msg);
        jpeg_destroy_compress(&o->cinfo);
        free(o->buf);
        free(o);
        return SF_ERR_CORRUPT;
    }
    jpeg_create_compress(&o->cinfo);
    jpeg_mem_dest(&o->cinfo, &o->buf, &o->len);
    o->cinfo.image_width = (JDIMENSION)width;
    o->cinfo.image_height = (JDIMENSION)height;
    o->cinfo.input_components = 3;
    o->cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&o->cinfo);
    jpeg_set_quality(&o->cinfo, quality < 1 ? 1 : quality > 100 ? 100 : quality, TRUE);
    if (progressive) jpeg_simple_progression(&o->cinfo);
    jpeg_start_compress(&o->cinfo, TRUE);
    size_t stride = (size_t)width * 3;
    while (o->cinfo.next_scanline < o->cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)o->cinfo.next_scanline * stride);
        jpeg_write_scanlines(&o->cinfo, &row, 1);
    }
    jpeg_finish_compress(&o->cinfo);
    jpeg_destroy_compress(&o->cinfo);
    *out = o->buf;
    *out_len = (size_t)o->len;
    free(o);
    return SF_OK;
}
