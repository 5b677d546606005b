#!/usr/bin/env python3
"""Rebuilds the committed sample datasets from ../shared/data (see README.md).

tracks_sample.csv.gz: 500 rows of spotify_tracks_dataset.csv.gz from 5 genres (dance, hard-rock, metal,
punk-rock, punk), rows unchanged and in file order: all rows of the first 60 tracks listed under 2+ of these
genres, the first 10 groups of exact duplicate rows, up to 25 rows per genre whose song is in the YouTube data,
then the first rows of each genre, up to 100 rows per genre.
youtube_sample.csv.gz: the rows of spotify_youtube_merged_partial.csv.gz whose artist and loosely normalised
title match a sample song, plus the first 40 rows that match none.
"""
import collections, csv, gzip, io, re, sys, unicodedata
from pathlib import Path

DATA = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[3] / '../shared/data').resolve()
OUT = Path(__file__).resolve().parent
GENRES = ['dance', 'hard-rock', 'metal', 'punk-rock', 'punk']
PER_GENRE = 100
MULTI_IDS = 60
DUP_GROUPS = 10
YT_PER_GENRE = 25


def read(name):
    with gzip.open(DATA / name, 'rt', encoding='utf-8', newline='') as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def strict(text):
    text = ''.join(c for c in unicodedata.normalize('NFKD', text) if not unicodedata.combining(c)).lower()
    text = text.replace('&', ' and ')
    return ' '.join(re.sub(r'[^0-9a-z\u0080-\uffff]+', ' ', text).split())


def loose(title):
    t = title.split(' - ')[0]
    t = re.sub(r'\([^)]*\)|\[[^\]]*\]', '', t)
    t = re.split(r'(?i)(?<![0-9a-z])(?:feat\.|ft\.)', t)[0]
    return strict(t) or strict(title)


def write(name, header, rows):
    text = io.StringIO(newline='')
    writer = csv.writer(text, lineterminator='\n')
    writer.writerow(header)
    writer.writerows(rows)
    with gzip.GzipFile(OUT / name, 'wb', mtime=0) as f:
        f.write(text.getvalue().encode('utf-8'))


def main():
    header, rows = read('spotify_tracks_dataset.csv.gz')
    gi, ti, ai, ni = (header.index(c) for c in ('track_genre', 'track_id', 'artists', 'track_name'))
    yh, yrows = read('spotify_youtube_merged_partial.csv.gz')
    yart, ytrk = yh.index('Artist'), yh.index('Track')
    yt_keys = {(strict(r[yart]), loose(r[ytrk])) for r in yrows}
    in_genres = [r for r in rows if r[gi] in GENRES]
    genres_of = collections.defaultdict(set)
    for r in in_genres:
        genres_of[r[ti]].add(r[gi])
    multi_ids = list(dict.fromkeys(r[ti] for r in in_genres if len(genres_of[r[ti]]) > 1))[:MULTI_IDS]
    groups = collections.defaultdict(list)
    for r in in_genres:
        groups[tuple(r[1:])].append(r[0])
    dup_groups = [g for g in groups.values() if len(g) > 1][:DUP_GROUPS]
    keep = {r[0] for r in in_genres if r[ti] in set(multi_ids)} | {i for g in dup_groups for i in g}
    for genre in GENRES:
        mine = [r for r in in_genres if r[gi] == genre]
        yt = [r for r in mine if any((strict(a), loose(r[ni])) in yt_keys for a in r[ai].split(';'))]
        for r in yt[:YT_PER_GENRE] + mine:
            if sum(1 for x in mine if x[0] in keep) >= PER_GENRE:
                break
            keep.add(r[0])
    sample = [r for r in in_genres if r[0] in keep]
    write('tracks_sample.csv.gz', header, sample)
    song_keys = {(strict(a), loose(r[ni])) for r in sample for a in r[ai].split(';')}
    matched = [r for r in yrows if (strict(r[yart]), loose(r[ytrk])) in song_keys]
    others = [r for r in yrows if (strict(r[yart]), loose(r[ytrk])) not in song_keys][:40]
    ids = {id(r) for r in matched + others}
    write('youtube_sample.csv.gz', yh, [r for r in yrows if id(r) in ids])
    print(f'{len(sample)} track rows ({len({r[ti] for r in sample})} ids), {len(matched)} + {len(others)} YouTube rows')


main()
