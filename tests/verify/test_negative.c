#include "vh.h"
TEST(placeholder_negative) { CHECK(1); }
