#ifndef GOLEM_CYAML_SHIM_H
#define GOLEM_CYAML_SHIM_H
/* libyaml's event parser; only Golem/Config touches it. */
#include <yaml.h>
#endif
