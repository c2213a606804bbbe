#ifndef KL_VERSION_H
#define KL_VERSION_H
#define KL_VERSION "0.1.0"
#endif
