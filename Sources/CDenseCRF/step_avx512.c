/*
 * AVX-512 mean-field step; see CDenseCRF.h. Every line mirrors DenseCRFEngine.step and
 * DenseCRFMath.swift (cephesExp, expAndNormalize); keep them in step.
 */
#include "CDenseCRF.h"

/* Multiplies and adds stay separate, as in the portable path and in densecrf's SSE build:
 * a fused multiply-add rounds once instead of twice and would change the results. Set
 * before the intrinsics header, whose inline functions are plain C arithmetic. */
#pragma clang fp contract(off)

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>

int segflow_crf_has_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? 1 : 0;
}

#define AVX512 __attribute__((target("avx512f")))

/* simdMax(a, b) = a < b ? b : a; vmaxps(x, y) = x > y ? x : y. */
static inline AVX512 __m512 vmax(__m512 a, __m512 b) { return _mm512_max_ps(b, a); }
/* simdMin(a, b) = b < a ? b : a; vminps(x, y) = x < y ? x : y. */
static inline AVX512 __m512 vmin(__m512 a, __m512 b) { return _mm512_min_ps(b, a); }

/* Eigen 3's SSE pexp<Packet4f> (Cephes), 16 lanes at a time. */
static inline AVX512 __m512 cephes_exp(__m512 input) {
    const __m512 one = _mm512_set1_ps(1.0f);
    const __m512 half = _mm512_set1_ps(0.5f);
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    const __m512 magic_bias = _mm512_set1_ps(12582912.0f + 127.0f);
    __m512 x = vmax(vmin(input, _mm512_set1_ps(88.3762626647950f)), _mm512_set1_ps(-88.3762626647949f));
    __m512 fx0 = _mm512_add_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), half);
    __m512 rounded = _mm512_sub_ps(_mm512_add_ps(fx0, magic), magic);
    __mmask16 above = _mm512_cmp_ps_mask(rounded, fx0, _CMP_GT_OQ);
    __m512 fx = _mm512_sub_ps(rounded, _mm512_maskz_mov_ps(above, one));
    x = _mm512_sub_ps(x, _mm512_mul_ps(fx, _mm512_set1_ps(0.693359375f)));
    x = _mm512_sub_ps(x, _mm512_mul_ps(fx, _mm512_set1_ps(-2.12194440e-4f)));
    __m512 z = _mm512_mul_ps(x, x);
    __m512 y = _mm512_set1_ps(1.9875691500e-4f);
    y = _mm512_add_ps(_mm512_mul_ps(y, x), _mm512_set1_ps(1.3981999507e-3f));
    y = _mm512_add_ps(_mm512_mul_ps(y, x), _mm512_set1_ps(8.3334519073e-3f));
    y = _mm512_add_ps(_mm512_mul_ps(y, x), _mm512_set1_ps(4.1665795894e-2f));
    y = _mm512_add_ps(_mm512_mul_ps(y, x), _mm512_set1_ps(1.6666665459e-1f));
    y = _mm512_add_ps(_mm512_mul_ps(y, x), _mm512_set1_ps(5.0000001201e-1f));
    y = _mm512_add_ps(_mm512_mul_ps(y, z), x);
    y = _mm512_add_ps(y, one);
    __m512i biased = _mm512_and_si512(_mm512_castps_si512(_mm512_add_ps(fx, magic_bias)),
                                      _mm512_set1_epi32(0x3fffff));
    __m512 pow2 = _mm512_castsi512_ps(_mm512_slli_epi32(biased, 23));
    return vmax(_mm512_mul_ps(y, pow2), input);
}

/* The four 4-lane chunks of a row. */
static inline AVX512 __m128 chunk(__m512 v, int c) {
    switch (c) {
    case 0: return _mm512_castps512_ps128(v);
    case 1: return _mm512_extractf32x4_ps(v, 1);
    case 2: return _mm512_extractf32x4_ps(v, 2);
    default: return _mm512_extractf32x4_ps(v, 3);
    }
}

/* horizontalMax: a = high > low ? high : low (per pair), then max(a0, a1). */
static inline AVX512 float horizontal_max(__m128 v) {
    float lo0 = v[0], lo1 = v[1], hi0 = v[2], hi1 = v[3];
    float a0 = hi0 > lo0 ? hi0 : lo0, a1 = hi1 > lo1 ? hi1 : lo1;
    return a1 >= a0 ? a1 : a0;
}

/* horizontalSum: (v0 + v2) + (v1 + v3). */
static inline AVX512 float horizontal_sum(__m128 v) {
    float a0 = v[0] + v[2], a1 = v[1] + v[3];
    return a0 + a1;
}

/* Pixels per group: their dependency chains (slice, exp, sum, divide) are independent,
 * so a group keeps the vector units busy where one pixel's chain would wait on latency. */
#define GROUP 8

/* t -= negCompat * (norm * sum_r (barycentric_r * alpha) * row_r) for one pixel and kernel. */
static inline __attribute__((always_inline)) AVX512 __m512 subtract_pairwise(__m512 t, const segflow_crf_kernel *kn,
                                                                            ptrdiff_t i, __mmask16 lanes, ptrdiff_t stride) {
    const ptrdiff_t d1 = kn->vertices;
    const int32_t *rows = kn->slice_row + i * d1;
    const float *bary = kn->barycentric + i * d1;
    __m512 s = _mm512_setzero_ps();
    for (ptrdiff_t r = 0; r < d1; r++) {
        __m512 w = _mm512_set1_ps(bary[r] * kn->alpha);
        __m512 row = _mm512_maskz_loadu_ps(lanes, kn->values + (ptrdiff_t)rows[r] * stride);
        s = _mm512_add_ps(s, _mm512_mul_ps(w, row));
    }
    __m512 scaled = _mm512_mul_ps(s, _mm512_set1_ps(kn->norm[i]));
    return _mm512_sub_ps(t, _mm512_mul_ps(_mm512_set1_ps(kn->neg_compat), scaled));
}

/* expAndNormalize of one row: the max over its chunks, exp(t - max), divided by the sum. */
static inline __attribute__((always_inline)) AVX512 __m512 exp_and_normalize(__m512 t, int32_t cv) {
    __m128 mx = chunk(t, 0);
    for (int32_t c = 1; c < cv; c++) mx = _mm_max_ps(chunk(t, c), mx); /* simdMax(mx, next) */
    __m512 e = cephes_exp(_mm512_sub_ps(t, _mm512_set1_ps(horizontal_max(mx))));
    __m128 total = _mm_setzero_ps();
    for (int32_t c = 0; c < cv; c++) total = _mm_add_ps(total, chunk(e, c));
    return _mm512_div_ps(e, _mm512_set1_ps(horizontal_sum(total)));
}

static inline __attribute__((always_inline)) AVX512 void step_rows(int32_t cv, ptrdiff_t begin, ptrdiff_t end,
                                                                  const float *neg_unary, float *q,
                                                                  const segflow_crf_kernel *kernels,
                                                                  int32_t kernel_count) {
    const __mmask16 lanes = (__mmask16)((1u << (4 * cv)) - 1u);
    const ptrdiff_t stride = 4 * (ptrdiff_t)cv;
    ptrdiff_t i = begin;
    for (; i + GROUP <= end; i += GROUP) {
        __m512 t[GROUP];
        for (int p = 0; p < GROUP; p++) t[p] = _mm512_maskz_loadu_ps(lanes, neg_unary + (i + p) * stride);
        for (int32_t k = 0; k < kernel_count; k++)
            for (int p = 0; p < GROUP; p++) t[p] = subtract_pairwise(t[p], &kernels[k], i + p, lanes, stride);
        for (int p = 0; p < GROUP; p++) t[p] = exp_and_normalize(t[p], cv);
        for (int p = 0; p < GROUP; p++) _mm512_mask_storeu_ps(q + (i + p) * stride, lanes, t[p]);
    }
    for (; i < end; i++) {
        __m512 t = _mm512_maskz_loadu_ps(lanes, neg_unary + i * stride);
        for (int32_t k = 0; k < kernel_count; k++) t = subtract_pairwise(t, &kernels[k], i, lanes, stride);
        _mm512_mask_storeu_ps(q + i * stride, lanes, exp_and_normalize(t, cv));
    }
}

AVX512 void segflow_crf_step_avx512(int32_t vectors, ptrdiff_t begin, ptrdiff_t end, const float *neg_unary, float *q,
                             const segflow_crf_kernel *kernels, int32_t kernel_count) {
    /* Constant row widths so the compiler drops the per-chunk loops. */
    switch (vectors) {
    case 1: step_rows(1, begin, end, neg_unary, q, kernels, kernel_count); break;
    case 2: step_rows(2, begin, end, neg_unary, q, kernels, kernel_count); break;
    case 3: step_rows(3, begin, end, neg_unary, q, kernels, kernel_count); break;
    case 4: step_rows(4, begin, end, neg_unary, q, kernels, kernel_count); break;
    default: break;
    }
}

#else

int segflow_crf_has_avx512(void) { return 0; }

void segflow_crf_step_avx512(int32_t vectors, ptrdiff_t begin, ptrdiff_t end, const float *neg_unary, float *q,
                             const segflow_crf_kernel *kernels, int32_t kernel_count) {
    (void)vectors; (void)begin; (void)end; (void)neg_unary; (void)q; (void)kernels; (void)kernel_count;
}

#endif
