#ifndef SEGFLOW_CFONTSHIM_H
#define SEGFLOW_CFONTSHIM_H
/*
 * Caption text through FreeType, with fonts found by fontconfig.
 *
 * Swift sees only these few functions and plain structs: FreeType's face and glyph records
 * (nested pointers into C structs with bitfields and macros) and fontconfig's patterns stay here.
 * A face is not thread-safe: callers serialise the use of one.
 */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The font file (and face index in a collection) fontconfig matches for `pattern` (e.g.
 * "sans-serif:lang=zh-cn") that covers every code point of `required`; 0 when found, -1 when no
 * installed font does (or fontconfig cannot start). `path` gets a NUL-terminated path. */
int sf_font_find(const char *pattern, const uint32_t *required, size_t count,
                 char *path, size_t path_capacity, int *face_index);

typedef struct sf_face sf_face;

/* Opens a face at a pixel height; NULL (and `message` filled) when FreeType cannot read it. */
sf_face *sf_face_open(const char *path, int face_index, int pixel_height, char *message, size_t message_capacity);
void sf_face_close(sf_face *face);

/* Line metrics of the open face, in pixels: ascender (above the baseline) and line height. */
void sf_face_metrics(const sf_face *face, int *ascender, int *line_height);

/* Whether the face has a glyph for `code_point` (not .notdef). */
int sf_face_has_glyph(const sf_face *face, uint32_t code_point);

/* One rendered glyph: an 8-bit coverage bitmap valid until the next call on the same face. */
typedef struct {
    const uint8_t *coverage;
    int width, rows, pitch;
    int left, top;   /* bitmap origin relative to the pen: left, and top above the baseline */
    int advance;     /* pen advance in pixels */
} sf_glyph;

/* Renders `code_point` (anti-aliased); 0 on success. */
int sf_face_render(sf_face *face, uint32_t code_point, sf_glyph *out);

#ifdef __cplusplus
}
#endif
#endif
