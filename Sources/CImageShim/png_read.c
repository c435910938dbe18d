/* PNG decoding behind setjmp: every libpng error lands here as SF_ERR_CORRUPT. */
#include "internal.h"
#include <stdlib.h>
#include <string.h>

static void on_error(png_structp png, png_const_charp message) {
    struct sf_decoder *d = png_get_error_ptr(png);
    sf_set_msg(d->errmsg, sizeof d->errmsg, "%s", message);
    png_longjmp(png, 1);
}

/* Warnings (odd sRGB profiles, bad ancillary CRCs) are not worth a line on stderr. */
static void on_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

static void read_bytes(png_structp png, png_bytep out, size_t n) {
    struct sf_decoder *d = png_get_io_ptr(png);
    if (d->fp != NULL) {
        size_t got = fread(out, 1, n, d->fp);
        if (got != n) png_error(png, ferror(d->fp) ? "read error" : "unexpected end of file (truncated PNG)");
        return;
    }
    if (d->len - d->pos < n) png_error(png, "unexpected end of data (truncated PNG)");
    memcpy(out, d->data + d->pos, n);
    d->pos += n;
}

int sf_png_open(struct sf_decoder *d, long long max_pixels) {
    d->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, d, on_error, on_warning);
    if (d->png == NULL) {
        sf_set_msg(d->errmsg, sizeof d->errmsg, "out of memory");
        return SF_ERR_NOMEM;
    }
    d->pinfo = png_create_info_struct(d->png);
    if (d->pinfo == NULL) {
        sf_set_msg(d->errmsg, sizeof d->errmsg, "out of memory");
        return SF_ERR_NOMEM;
    }
    if (setjmp(png_jmpbuf(d->png))) return SF_ERR_CORRUPT;
    png_set_read_fn(d->png, d, read_bytes);
    png_set_sig_bytes(d->png, 8);
    /* Our own pixel limit below replaces libpng's 1,000,000-per-side default. */
    png_set_user_limits(d->png, 0x7fffffffU, 0x7fffffffU);
    png_read_info(d->png, d->pinfo);

    png_uint_32 w = 0, h = 0;
    int depth = 0, ctype = 0, interlace = 0;
    png_get_IHDR(d->png, d->pinfo, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
    d->info.width = (int)w;
    d->info.height = (int)h;
    d->info.bit_depth = depth;
    d->info.png_color_type = ctype;
    d->info.channels = png_get_channels(d->png, d->pinfo);
    d->info.interlaced = interlace != PNG_INTERLACE_NONE;
    png_colorp pal = NULL;
    int npal = 0;
    if (png_get_PLTE(d->png, d->pinfo, &pal, &npal) && pal != NULL) {
        if (npal > 256) npal = 256;
        d->info.palette_count = npal;
        for (int i = 0; i < npal; i++) {
            d->info.palette[3 * i] = pal[i].red;
            d->info.palette[3 * i + 1] = pal[i].green;
            d->info.palette[3 * i + 2] = pal[i].blue;
        }
    }
    long long pixels = (long long)w * (long long)h;
    if (pixels > max_pixels) {
        sf_set_msg(d->errmsg, sizeof d->errmsg,
                   "image is %ux%u = %lld pixels, above the limit of %lld pixels", (unsigned)w,
                   (unsigned)h, pixels, max_pixels);
        return SF_ERR_TOO_LARGE;
    }
    return SF_OK;
}

/* 16-bit label values must fit a byte; anything else is not a mask this engine can use. */
static int narrow16(struct sf_decoder *d, unsigned char *dst) {
    size_t w = (size_t)d->info.width, h = (size_t)d->info.height;
    const unsigned char *src = d->tmp;
    for (size_t i = 0; i < w * h; i++) {
        unsigned v = ((unsigned)src[2 * i] << 8) | src[2 * i + 1];
        if (v > 255) {
            sf_set_msg(d->errmsg, sizeof d->errmsg,
                       "16-bit mask has value %u at x=%zu y=%zu, above 255", v, i % w, i / w);
            return SF_ERR_UNSUPPORTED;
        }
        dst[i] = (unsigned char)v;
    }
    return SF_OK;
}

/* A palette mask's pixel is an index into its palette: one past the end is no colour the file defines
 * (libpng only warns of it, at png_read_end, and PIL reads it silently), so a label from it would be a
 * class id the annotation tool never showed anyone. */
static int check_indices(struct sf_decoder *d, const unsigned char *dst) {
    size_t w = (size_t)d->info.width, h = (size_t)d->info.height;
    int count = d->info.palette_count;
    for (size_t i = 0; i < w * h; i++) {
        if ((int)dst[i] >= count) {
            sf_set_msg(d->errmsg, sizeof d->errmsg,
                       "palette index %u at x=%zu y=%zu is beyond the palette's %d entries", (unsigned)dst[i],
                       i % w, i / w, count);
            return SF_ERR_UNSUPPORTED;
        }
    }
    return SF_OK;
}

int sf_png_decode(struct sf_decoder *d, int mode, unsigned char *dst, size_t dst_len) {
    (void)dst_len;
    int ctype = d->info.png_color_type, depth = d->info.bit_depth;
    size_t w = (size_t)d->info.width, h = (size_t)d->info.height;
    size_t out_bpp = mode == SF_MODE_RGB ? 3 : 1;
    int wide = mode == SF_MODE_INDEX && depth == 16;
    if (mode == SF_MODE_INDEX && (ctype & PNG_COLOR_MASK_COLOR) && ctype != PNG_COLOR_TYPE_PALETTE) {
        sf_set_msg(d->errmsg, sizeof d->errmsg, "%s PNG, not a label mask",
                   ctype == PNG_COLOR_TYPE_RGBA ? "RGBA" : "RGB");
        return SF_ERR_UNSUPPORTED;
    }
    d->rows = malloc(h * sizeof(unsigned char *));
    if (wide) d->tmp = malloc(w * h * 2);
    if (d->rows == NULL || (wide && d->tmp == NULL)) {
        sf_set_msg(d->errmsg, sizeof d->errmsg, "out of memory");
        return SF_ERR_NOMEM;
    }
    if (setjmp(png_jmpbuf(d->png))) return SF_ERR_CORRUPT;
    if (mode == SF_MODE_RGB) {
        if (depth == 16) png_set_scale_16(d->png);
        png_set_expand(d->png); /* palette -> RGB, low-bit gray -> 8 bits, tRNS -> alpha */
        png_set_strip_alpha(d->png);
        if (!(ctype & PNG_COLOR_MASK_COLOR)) png_set_gray_to_rgb(d->png);
    } else {
        if (depth < 8) png_set_packing(d->png); /* raw values, not rescaled to 0..255 */
        if (ctype & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(d->png);
    }
    png_set_interlace_handling(d->png);
    png_read_update_info(d->png, d->pinfo);
    size_t want = w * out_bpp * (wide ? 2 : 1);
    if (png_get_rowbytes(d->png, d->pinfo) != want) {
        sf_set_msg(d->errmsg, sizeof d->errmsg,
                   "unexpected row layout (%zu bytes per row, expected %zu)",
                   (size_t)png_get_rowbytes(d->png, d->pinfo), want);
        return SF_ERR_UNSUPPORTED;
    }
    unsigned char *base = wide ? d->tmp : dst;
    for (size_t y = 0; y < h; y++) d->rows[y] = base + y * want;
    png_read_image(d->png, d->rows);
    if (wide) return narrow16(d, dst);
    if (mode == SF_MODE_INDEX && ctype == PNG_COLOR_TYPE_PALETTE) return check_indices(d, dst);
    return SF_OK;
}

void sf_png_close(struct sf_decoder *d) {
    if (d->png != NULL) png_destroy_read_struct(&d->png, d->pinfo ? &d->pinfo : NULL, NULL);
}
