/* kl_time: the wall clock. */
#ifndef KL_TIME_H
#define KL_TIME_H

/* Unix time in milliseconds. */
long long kl_now_ms(void);

#endif
