/* placeholder */
#include "model.h"
int model_placeholder_(void);
int model_placeholder_(void) { return 0; }
