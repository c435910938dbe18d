/* Writes the CMYK fixtures: cmyk.jpg (Adobe, inverted ink as Photoshop stores it) and ycck.jpg
 * (Adobe transform 2), 4x2 pixels of known colours. Build: cc make_cmyk_jpeg.c -ljpeg
 * Each pixel is pure ink (C, M, Y or K at 100 %, or none) so the RGB it should decode to is clear. */
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>

static void write_one(const char *path, J_COLOR_SPACE stored) {
    /* Ink amounts 0..255 per pixel: white, cyan, magenta, yellow / black, red (M+Y), green (C+Y), blue (C+M). */
    static const unsigned char ink[8][4] = {
        {0, 0, 0, 0}, {255, 0, 0, 0}, {0, 255, 0, 0}, {0, 0, 255, 0},
        {0, 0, 0, 255}, {0, 255, 255, 0}, {255, 0, 255, 0}, {255, 255, 0, 0},
    };
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    FILE *f = fopen(path, "wb");
    if (!f) { perror(path); exit(1); }
    jpeg_stdio_dest(&c, f);
    c.image_width = 4; c.image_height = 2; c.input_components = 4; c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, stored); /* writes the Adobe marker for CMYK and YCCK */
    jpeg_set_quality(&c, 100, TRUE);
    for (int i = 0; i < c.num_components; i++) { c.comp_info[i].h_samp_factor = 1; c.comp_info[i].v_samp_factor = 1; }
    jpeg_start_compress(&c, TRUE);
    for (int y = 0; y < 2; y++) {
        unsigned char row[16];
        /* Adobe CMYK stores 255 - ink (what libjpeg's saw_Adobe_marker readers expect). */
        for (int x = 0; x < 4; x++) for (int k = 0; k < 4; k++) row[4 * x + k] = 255 - ink[4 * y + x][k];
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
}

int main(void) {
    write_one("cmyk.jpg", JCS_CMYK);
    write_one("ycck.jpg", JCS_YCCK);
    return 0;
}
