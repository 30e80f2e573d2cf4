/*
 * cat copies its standard input to its standard output with plain ReadFile
 * and WriteFile, as most Windows programs do: no OVERLAPPED, no C runtime
 * buffering. A pipe end given to it must therefore be synchronous.
 * TestGrandchildInCUsesEndsThroughFile runs it; scripts/test-windows builds
 * it with mingw-w64:
 *
 *     x86_64-w64-mingw32-gcc -O2 -o cat.exe cat.c
 *
 * Exit status: 0 at end of input, 2 if a read fails, 3 if a write fails.
 */
#include <windows.h>

int main(void) {
	HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
	HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);
	static char buf[65536];
	DWORD n, m;
	for (;;) {
		if (!ReadFile(in, buf, sizeof buf, &n, NULL)) {
			return GetLastError() == ERROR_BROKEN_PIPE ? 0 : 2;
		}
		if (n == 0) {
			return 0;
		}
		if (!WriteFile(out, buf, n, &m, NULL) || m != n) {
			return 3;
		}
	}
}
