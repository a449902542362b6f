#include <cstdio>
int main() {}
