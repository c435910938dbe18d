#ifndef SEGFLOW_BUILD_INFO_H
#define SEGFLOW_BUILD_INFO_H

/// The git commit segflow was built from ("unknown" when built outside git or without `make`).
const char *segflow_build_commit(void);

#endif
