/** The package name. The API lands with its issue. */
export const packageName = '@trainkit/lawn';
