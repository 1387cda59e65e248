/** The program's version, as in package.json (a unit test checks they agree). */
export const VERSION = '0.1.0';
