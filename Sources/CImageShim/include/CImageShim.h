#ifndef SEGFLOW_CIMAGESHIM_H
#define SEGFLOW_CIMAGESHIM_H
/*
 * setjmp/longjmp-guarded wrappers around libpng and libjpeg(-turbo).
 *
 * libpng and libjpeg report errors by longjmp, which Swift cannot catch. Every
 * function here catches them itself and returns an SF_ERR_* code with a message
 * written into the caller's buffer; nothing ever longjmps past this layer.
 * This header deliberately includes neither <png.h> nor <jpeglib.h>.
 */
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* MARK: - Codes */

enum {
    SF_OK = 0,
    SF_ERR_IO = 1,          /* cannot open / read the file (message holds strerror) */
    SF_ERR_FORMAT = 2,      /* neither PNG nor JPEG magic bytes (info.magic holds them) */
    SF_ERR_CORRUPT = 3,     /* the codec rejected the data (truncated, corrupt) */
    SF_ERR_TOO_LARGE = 4,   /* width * height above the caller's pixel limit */
    SF_ERR_UNSUPPORTED = 5, /* a valid file this mode cannot return (e.g. RGB as mask) */
    SF_ERR_NOMEM = 6,
    SF_ERR_ARGUMENT = 7     /* the caller passed something inconsistent */
};

enum { SF_FORMAT_PNG = 1, SF_FORMAT_JPEG = 2 };

/* PNG colour types, as in the PNG specification. */
enum {
    SF_PNG_GRAY = 0,
    SF_PNG_RGB = 2,
    SF_PNG_PALETTE = 3,
    SF_PNG_GRAY_ALPHA = 4,
    SF_PNG_RGBA = 6
};

/* Decode modes. */
enum {
    SF_MODE_RGB = 0,   /* 3 bytes per pixel; alpha dropped, gray expanded, 16-bit scaled to 8 */
    SF_MODE_INDEX = 1  /* 1 byte per pixel, raw values: gray levels or palette indices (PNG only) */
};

/* What the header says. */
typedef struct {
    int format;           /* SF_FORMAT_* */
    int width;
    int height;
    int png_color_type;   /* SF_PNG_*; -1 for JPEG */
    int bit_depth;        /* PNG bit depth; 8 for JPEG */
    int channels;         /* channels stored in the file */
    int interlaced;       /* PNG Adam7 */
    int progressive;      /* JPEG progressive */
    int palette_count;    /* PNG palette entries, 0 if none */
    unsigned char palette[256 * 3];
    unsigned char magic[8]; /* the first bytes of the file, for error messages */
    int magic_len;
} sf_info;

/* MARK: - Decoding: open (header only), decode into a caller buffer, close */

typedef struct sf_decoder sf_decoder;

/*
 * Reads the header of a PNG or JPEG (detected by magic bytes). The source is the
 * file at `path` when it is not NULL, otherwise `data`/`len` (which must stay
 * valid until sf_close). Refuses width*height > max_pixels before allocating
 * anything for pixels. On success *out is a decoder to pass to sf_decode and
 * sf_close; on failure *out is NULL and `info` holds what was learnt so far.
 */
int sf_open(const char *path, const void *data, size_t len, long long max_pixels,
            sf_decoder **out, sf_info *info, char *msg, size_t msglen);

/*
 * Decodes the whole image into `dst` (row-major, no padding) of `dst_len` bytes:
 * width*height*3 for SF_MODE_RGB, width*height for SF_MODE_INDEX. Call once.
 */
int sf_decode(sf_decoder *dec, int mode, unsigned char *dst, size_t dst_len,
              char *msg, size_t msglen);

/* Frees the decoder and closes its file. NULL is fine. */
void sf_close(sf_decoder *dec);

/* MARK: - Encoding (into a malloc'd buffer; free it with sf_free) */

/*
 * Encodes an 8-bit PNG. color_type is SF_PNG_RGB (3 bytes/pixel), SF_PNG_GRAY or
 * SF_PNG_PALETTE (1 byte/pixel). A palette PNG is always written at bit depth 8
 * and needs 1..256 entries covering every index. level is the zlib level 0..9.
 */
int sf_png_encode(const unsigned char *pixels, int width, int height, int color_type,
                  const unsigned char *palette, int palette_count, int level,
                  unsigned char **out, size_t *out_len, char *msg, size_t msglen);

/* Encodes an RGB JPEG (quality 1..100, baseline or progressive). */
int sf_jpeg_encode(const unsigned char *rgb, int width, int height, int quality,
                   int progressive, unsigned char **out, size_t *out_len,
                   char *msg, size_t msglen);

void sf_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
