#ifndef SEGFLOW_CDENSECRF_H
#define SEGFLOW_CDENSECRF_H
/*
 * The dense CRF's per-pixel mean-field step in AVX-512, chosen at run time.
 *
 * Swift cannot compile one function for a wider instruction set than the rest of the
 * binary, so this one loop lives in C behind a CPU check. It computes exactly what
 * SegflowVision's portable step computes (same operations per lane, same summation
 * order, no fused multiply-add), so labels and marginals are bitwise the same on
 * either path; one vector holds up to 16 classes, where the portable path needs one
 * 4-lane vector per 4 classes.
 */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One pairwise kernel as the step reads it (all pointers borrowed). */
typedef struct {
    int32_t vertices;             /* vertices per pixel: d + 1 */
    const int32_t *slice_row;     /* pixels * vertices value rows (row 0 is all zeros) */
    const float *barycentric;     /* pixels * vertices weights */
    float alpha;                  /* the slice scale */
    const float *norm;            /* pixels: NORMALIZE_SYMMETRIC factors */
    float neg_compat;             /* -w of the Potts compatibility */
    const float *values;          /* blurred vertex rows, `vectors` * 4 floats each */
} segflow_crf_kernel;

/* 1 when this CPU and OS run AVX-512F code, else 0. */
int segflow_crf_has_avx512(void);

/*
 * For pixels begin..<end: t = -U; for each kernel, t -= negCompat * (slice * norm);
 * q = softmax(t) with Eigen's Cephes exp. Rows are `vectors` * 4 floats (vectors 1...4),
 * padding lanes of neg_unary hold -1e30; kernel_count 0 gives softmax(-U). Call only when
 * segflow_crf_has_avx512().
 */
void segflow_crf_step_avx512(int32_t vectors, ptrdiff_t begin, ptrdiff_t end, const float *neg_unary,
                             float *q, const segflow_crf_kernel *kernels, int32_t kernel_count);

#ifdef __cplusplus
}
#endif
#endif
