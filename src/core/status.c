/* status.c - descriptions of the status codes (see peerpres/status.h). */
#include <peerpres/status.h>

const char *pp_strerror(int status)
{
	switch (status) {
	case PP_OK: return "ok";
	case PP_ENOMEM: return "out of memory";
	case PP_EINVAL: return "invalid argument";
	case PP_EIO: return "input/output error";
	case PP_EPARSE: return "parse error";
	case PP_ENOTFOUND: return "not found";
	case PP_ERANGE: return "value or size out of range";
	case PP_ESCHEMA: return "scenario format error";
	case PP_ESTORE: return "store error";
	case PP_EPROVIDER: return "provider error";
	case PP_EUSAGE: return "usage error";
	case PP_ETEMPLATE: return "template error";
	case PP_EINTR: return "interrupted";
	case PP_EEXIST: return "already stored";
	}
	return "unknown status";
}
