/** The goma version, from package.json at build time. Kept in its own module for the lean `cc` path. */
export const VERSION = "0.1.0";
