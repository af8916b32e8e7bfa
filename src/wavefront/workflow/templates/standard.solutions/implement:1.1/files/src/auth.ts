// auth feature (example solution)
export const feature = 'auth';
