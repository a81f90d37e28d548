import { resolve } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { MeshlogConfig } from '../config/schema.js';
import { backupRoutes, type BackupDeps } from './backupRoutes.js';

/** Backups of the running server (the `backup` section): the backup routes, writing under backup.dir (default <data_dir>-backups). */
export function backupSubsystem(config: Pick<MeshlogConfig, 'data_dir' | 'backup'>, deps: Omit<BackupDeps, 'dataDir' | 'backupDir'>) {
  const routeDeps: BackupDeps = {
    ...deps,
    dataDir: config.data_dir,
    backupDir: config.backup.dir ?? `${resolve(config.data_dir)}-backups`,
  };
  const routes: FastifyPluginAsync = async (app) => backupRoutes(app, routeDeps);
  return { routes };
}
