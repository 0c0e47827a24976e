// libnghttp2 (Debian 12: 1.52, the mem_recv/data_provider API).
#pragma once
#include <nghttp2/nghttp2.h>
