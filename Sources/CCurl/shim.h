// libcurl (Debian 12: 7.88), plus typed entry points for its variadic setters.
#pragma once
#include <curl/curl.h>

/// curl_easy_setopt is variadic; Swift calls these typed forms instead.
static inline CURLcode CCurl_curl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode CCurl_curl_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode CCurl_curl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode CCurl_curl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode CCurl_curl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

/// The signature of CURLOPT_WRITEFUNCTION, and its typed setter.
typedef size_t (*CCurl_write_callback)(char *data, size_t size, size_t count, void *userdata);
static inline CURLcode CCurl_curl_easy_setopt_write_callback(CURL *handle, CCurl_write_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, callback);
}
