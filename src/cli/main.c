#include <stdio.h>
int main(void) { puts("peerpres"); return 0; }
