import packageJson from '../package.json';

export const pilothouseVersion: string = packageJson.version;
