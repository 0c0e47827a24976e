// The NATS C client (Debian 12: libnats 3.4.1).
#pragma once
#include <nats/nats.h>
