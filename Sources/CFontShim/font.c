#include "CFontShim.h"
#include <ft2build.h>
#include FT_FREETYPE_H
#include <fontconfig/fontconfig.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int sf_font_find(const char *pattern, const uint32_t *required, size_t count,
                 char *path, size_t path_capacity, int *face_index) {
    if (!FcInit()) return -1;
    FcPattern *query = FcNameParse((const FcChar8 *)pattern);
    if (!query) return -1;
    FcCharSet *chars = FcCharSetCreate();
    for (size_t i = 0; i < count; i++) FcCharSetAddChar(chars, required[i]);
    FcPatternAddCharSet(query, FC_CHARSET, chars);
    FcConfigSubstitute(NULL, query, FcMatchPattern);
    FcDefaultSubstitute(query);
    FcResult result = FcResultNoMatch;
    FcPattern *match = FcFontMatch(NULL, query, &result);
    int found = -1;
    FcChar8 *file = NULL;
    FcCharSet *covered = NULL;
    /* The best match need not cover the text (fontconfig falls back to any font): check it does. */
    if (match && FcPatternGetString(match, FC_FILE, 0, &file) == FcResultMatch &&
        FcPatternGetCharSet(match, FC_CHARSET, 0, &covered) == FcResultMatch) {
        int all = 1;
        for (size_t i = 0; i < count && all; i++) all = FcCharSetHasChar(covered, required[i]);
        if (all && strlen((const char *)file) < path_capacity) {
            strcpy(path, (const char *)file);
            int index = 0;
            FcPatternGetInteger(match, FC_INDEX, 0, &index);
            *face_index = index;
            found = 0;
        }
    }
    if (match) FcPatternDestroy(match);
    FcCharSetDestroy(chars);
    FcPatternDestroy(query);
    return found;
}

struct sf_face {
    FT_Library library;
    FT_Face face;
};

sf_face *sf_face_open(const char *path, int face_index, int pixel_height, char *message, size_t message_capacity) {
    if (access(path, R_OK) != 0) { snprintf(message, message_capacity, "cannot open it: %s", strerror(errno)); return NULL; }
    sf_face *f = calloc(1, sizeof *f);
    if (!f) { snprintf(message, message_capacity, "out of memory"); return NULL; }
    FT_Error e = FT_Init_FreeType(&f->library);
    if (e) { snprintf(message, message_capacity, "FreeType did not start (error %d)", e); free(f); return NULL; }
    e = FT_New_Face(f->library, path, face_index, &f->face);
    if (!e) e = FT_Set_Pixel_Sizes(f->face, 0, (FT_UInt)pixel_height);
    if (e) {
        snprintf(message, message_capacity, "FreeType cannot read it as a font (error %d)", e);
        if (f->face) FT_Done_Face(f->face);
        FT_Done_FreeType(f->library);
        free(f);
        return NULL;
    }
    return f;
}

void sf_face_close(sf_face *f) {
    if (!f) return;
    FT_Done_Face(f->face);
    FT_Done_FreeType(f->library);
    free(f);
}

void sf_face_metrics(const sf_face *f, int *ascender, int *line_height) {
    FT_Size_Metrics m = f->face->size->metrics;
    *ascender = (int)((m.ascender + 63) >> 6);
    *line_height = (int)((m.height + 63) >> 6);
}

int sf_face_has_glyph(const sf_face *f, uint32_t code_point) {
    return FT_Get_Char_Index(f->face, code_point) != 0;
}

int sf_face_render(sf_face *f, uint32_t code_point, sf_glyph *out) {
    if (FT_Load_Char(f->face, code_point, FT_LOAD_RENDER)) return -1;
    FT_GlyphSlot g = f->face->glyph;
    if (g->bitmap.pixel_mode != FT_PIXEL_MODE_GRAY && g->bitmap.width > 0) return -1;
    out->coverage = g->bitmap.buffer;
    out->width = (int)g->bitmap.width;
    out->rows = (int)g->bitmap.rows;
    out->pitch = g->bitmap.pitch;
    out->left = g->bitmap_left;
    out->top = g->bitmap_top;
    out->advance = (int)((g->advance.x + 32) >> 6);
    return 0;
}
