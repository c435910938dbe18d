#ifndef SEGFLOW_CIMAGESHIM_H
#define SEGFLOW_CIMAGESHIM_H
/* Placeholder; the imaging work fills this with setjmp-guarded libpng/libjpeg calls. */
int segflow_shim_version(void);
#endif
