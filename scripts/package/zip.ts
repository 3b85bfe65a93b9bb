/**
 * A deterministic zip writer (PKWARE APPNOTE 6.3: local headers, deflated data, central directory): the same files
 * give the same bytes, whatever the file system's timestamps, owners or listing order. Entries are sorted by path,
 * every entry carries one timestamp, and modes are normalised to 0644 (0755 when the owner may execute).
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

/** Every regular file below `dir`, as sorted forward-slash paths relative to it (symbolic links refused). */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(rel: string): Promise<void> {
    const entries = await fs.readdir(path.join(dir, rel), { withFileTypes: true });
    for (const e of entries) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(child);
      else if (e.isFile()) out.push(child);
      else throw new Error(`${child}: only regular files and folders can be packaged`);
    }
  }
  await walk("");
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** MS-DOS date and time (local time in the format; written as UTC here so the bytes do not depend on TZ). */
function dosDateTime(epochSeconds: number): { date: number; time: number } {
  const d = new Date(Math.max(epochSeconds, 315532800) * 1000); // the format starts in 1980
  return {
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | Math.floor(d.getUTCSeconds() / 2),
  };
}

/** Writes every file below `dir` into `zipFile`; returns the number of entries. */
export async function writeDeterministicZip(dir: string, zipFile: string, epochSeconds: number): Promise<number> {
  const files = await listFiles(dir);
  const { date, time } = dosDateTime(epochSeconds);
  const chunks: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const rel of files) {
    const full = path.join(dir, rel);
    const data = await fs.readFile(full);
    const executable = ((await fs.stat(full)).mode & 0o100) !== 0;
    const deflated = zlib.deflateRawSync(data, { level: 9 });
    const stored = deflated.length >= data.length;
    const body = stored ? data : deflated;
    const crc = zlib.crc32(data);
    const name = Buffer.from(rel, "utf8");
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed: 2.0
    local.writeUInt16LE(0x0800, 6); // names are UTF-8
    local.writeUInt16LE(stored ? 0 : 8, 8);
    local.writeUInt16LE(time, 10);
    local.writeUInt16LE(date, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, 2.0 (so the mode below is honoured by unzip)
    entry.writeUInt16LE(20, 6);
    entry.writeUInt16LE(0x0800, 8);
    entry.writeUInt16LE(stored ? 0 : 8, 10);
    entry.writeUInt16LE(time, 12);
    entry.writeUInt16LE(date, 14);
    entry.writeUInt32LE(crc, 16);
    entry.writeUInt32LE(body.length, 20);
    entry.writeUInt32LE(data.length, 24);
    entry.writeUInt16LE(name.length, 28);
    entry.writeUInt16LE(0, 30); // extra
    entry.writeUInt16LE(0, 32); // comment
    entry.writeUInt16LE(0, 34); // disk
    entry.writeUInt16LE(0, 36); // internal attributes
    entry.writeUInt32LE(((0o100000 | (executable ? 0o755 : 0o644)) << 16) >>> 0, 38);
    entry.writeUInt32LE(offset, 42);
    if (offset + local.length + name.length + body.length > 0xffffffff) throw new Error("package over 4 GiB: zip64 is not written");
    chunks.push(local, name, body);
    central.push(entry, name);
    offset += local.length + name.length + body.length;
  }
  if (files.length > 0xffff) throw new Error("more than 65,535 files: zip64 is not written");
  const centralBytes = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(centralBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  await fs.writeFile(zipFile, Buffer.concat([...chunks, centralBytes, end]));
  return files.length;
}
