// Typed wrappers for libcurl's variadic entry points, which Swift cannot call.
// Every symbol carries the CCurlShims_ prefix; nothing else lives here.
#ifndef KILN_CCURLSHIMS_H
#define KILN_CCURLSHIMS_H

#include <curl/curl.h>

typedef size_t (*CCurlShims_data_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);
typedef int (*CCurlShims_xferinfo_callback)(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
                                            curl_off_t ultotal, curl_off_t ulnow);
typedef int (*CCurlShims_seek_callback)(void *userdata, curl_off_t offset, int origin);

CURLcode CCurlShims_easy_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode CCurlShims_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value);
CURLcode CCurlShims_easy_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode CCurlShims_easy_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode CCurlShims_easy_setopt_data_callback(CURL *handle, CURLoption option,
                                              CCurlShims_data_callback callback);
CURLcode CCurlShims_easy_setopt_xferinfo_callback(CURL *handle,
                                                  CCurlShims_xferinfo_callback callback);

CURLcode CCurlShims_easy_setopt_seek_callback(CURL *handle, CCurlShims_seek_callback callback);

CURLcode CCurlShims_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode CCurlShims_easy_getinfo_string(CURL *handle, CURLINFO info, const char **value);
CURLcode CCurlShims_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value);

/// CURLVERSION_NOW is a macro naming the newest age this header knows.
curl_version_info_data *CCurlShims_version_info_now(void);

CURLMcode CCurlShims_multi_setopt_long(CURLM *handle, CURLMoption option, long value);

#endif
