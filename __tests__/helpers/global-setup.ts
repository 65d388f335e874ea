import fs from 'node:fs';
import path from 'node:path';
import { captureHostState, STAGE_OWNER_FILE } from './host-state';
import { REPO, STAGE_VAR, stagePackage } from './stage';

export default function globalSetup(): void {
  const before = captureHostState();
  const stage = stagePackage();
  process.env[STAGE_VAR] = stage.root;
  fs.writeFileSync(path.join(stage.root, 'host-state-before.json'), JSON.stringify(before));
  fs.writeFileSync(path.join(stage.root, STAGE_OWNER_FILE), REPO);
}
