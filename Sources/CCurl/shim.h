#ifndef KILN_CCURL_SHIM_H
#define KILN_CCURL_SHIM_H
#include <curl/curl.h>
#endif
