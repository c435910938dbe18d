#include "CImageShim.h"
int segflow_shim_version(void) { return 1; }
