/* The CBLAS interface of OpenBLAS (Debian: libopenblas-dev). The include path comes
 * from `pkg-config --cflags openblas`. */
#include <cblas.h>
