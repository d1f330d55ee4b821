/** The version of `@spanprof/core`, carried in every profile's tags. */
export const VERSION = '0.1.0';
