// todos feature (example solution)
export const feature = 'todos';
